"""What a signed-out member tapped (join, open a team, cut, help) before being asked to sign in, so that
signing in finishes it instead of dropping them back on the page to tap again.

The act is remembered in the session from the member's own tap: a POST (CSRF-checked) for acts that
write, or the GET of a page that only asks for confirmation (a checkout). After sign-in the member is
sent to the act's own URL, which completes it once: `take` removes what it returns, and an act left
waiting longer than MAX_AGE is forgotten. Signing in keeps the session's data (Django cycles the key).
"""

import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "shequn_intent"
MAX_AGE = 30 * 60


def sign_in_first(
    request: HttpRequest, *, action: str, target: object, label: str, next_url: str, **data: str
) -> HttpResponse:
    """Remember the act (`label` is what the sign-in pages show: 登录后继续：…) and send the member to the
    phone-code sign-in, which returns to `next_url`."""
    request.session[SESSION_KEY] = {
        "action": action,
        "target": str(target),
        "label": label,
        "at": int(time.time()),
        **data,
    }
    return redirect(f"{reverse('account_request_login_code')}?{urlencode({'next': next_url})}")


def pending(request: HttpRequest) -> dict | None:
    intent = request.session.get(SESSION_KEY)
    if not isinstance(intent, dict) or time.time() - intent.get("at", 0) > MAX_AGE:
        return None
    return intent


def take(request: HttpRequest, action: str, target: object) -> dict | None:
    """The remembered act if it is `action` on `target` (then forgotten), else None."""
    intent = pending(request)
    if intent is None or intent.get("action") != action or intent.get("target") != str(target):
        return None
    del request.session[SESSION_KEY]
    return intent


def gate(request: HttpRequest, *, action: str, target: object, label: str, back: str) -> HttpResponse | None:
    """For an act that writes (cut, help, start): None when it may go ahead now, a signed-in member's POST
    or the GET that comes back from signing in after the tap; otherwise the response to send: sign in
    first (a signed-out tap), or back to `back` (any other GET, which never writes)."""
    if request.user.is_authenticated:
        if request.method == "POST" or take(request, action, target) is not None:
            return None
        return redirect(back)
    if request.method != "POST":
        return redirect(back)
    return sign_in_first(request, action=action, target=target, label=label, next_url=request.path)
