"""The early sold-out answer: an order form POSTed for something flagged sold out (orders.soldout) is refused
with a short 409 page before the session, the user, CSRF, messages or the locale middleware run.

Why this is safe:
- a refusal changes no state, so it needs no CSRF check and no user: the flag only ever refuses, the
  database alone sells (a missing flag, Redis down, or anything unexpected in the request: the normal path);
- a resubmitted form whose order was placed goes the normal way (its key was noted as submitted before the
  order was placed: orders.soldout.note_submitted), which finds the order;
- only POSTs that carry a session cookie are answered here: without one the normal path asks to sign in,
  as it always did;
- a page that is not public (a group's SKU) does not name the thing: the answer checks no membership.

The URLs come from the apps (shequn.hooks.sold_out_routes), each reversed once with a stand-in id into one
regular expression, so matching costs no URL resolving and orders import no campaign. Each page is rendered
once per language and process, then only the name and the link back are put in.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import translation
from django.utils.html import escape

from shequn import hooks

from . import soldout

STAND_IN = 987654321  # an id no URL of ours carries twice, replaced by the capturing group
NAME_MARK, BACK_MARK = "SHEQUN-EARLY-NAME", "SHEQUN-EARLY-BACK"


@dataclass(frozen=True)
class _Compiled:
    route: soldout.EarlyRoute
    back: str  # the link back with STAND_IN for the id


_routes: dict[str, tuple[re.Pattern, list[_Compiled]]] = {}
_pages: dict[tuple[str, str], str] = {}


def _compiled() -> tuple[re.Pattern | None, list[_Compiled]]:
    """One alternation of every registered URL (group i+1 captures route i's id), per script prefix."""
    prefix = get_script_prefix()
    if prefix not in _routes:
        patterns, compiled = [], []
        for route in hooks.sold_out_routes.answers():
            try:
                path, back = reverse(route.url_name, args=[STAND_IN]), reverse(route.back_name, args=[STAND_IN])
            except NoReverseMatch:  # a URLconf without the page (the bench's, a test's): never answered
                continue
            patterns.append(re.escape(path).replace(str(STAND_IN), r"([1-9][0-9]{0,17})"))
            compiled.append(_Compiled(route, back))
        _routes[prefix] = (re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None, compiled)
    return _routes[prefix]


def _page(route: soldout.EarlyRoute, language: str) -> str:
    if (route.template, language) not in _pages:
        with translation.override(language):
            _pages[route.template, language] = render_to_string(
                route.template, {"name": NAME_MARK if route.show_name else "", "back": BACK_MARK}
            )
    return _pages[route.template, language]


def early_answer(request: HttpRequest) -> HttpResponse | None:
    """The 409 page when the POST is for something flagged sold out, else None (the normal path)."""
    pattern, compiled = _compiled()
    found = pattern.fullmatch(request.path) if pattern else None
    if found is None:
        return None
    index = next(i for i, group in enumerate(found.groups()) if group is not None)
    entry, subject = compiled[index], int(found.group(index + 1))
    try:
        subject_ids = entry.route.subjects(subject, request.POST)
    except ValidationError:  # a form the view will refuse with its own words
        return None
    key = request.POST.get("idempotency_key", "").strip()
    name = soldout.early_sold_out(subject_ids, scope=entry.route.scope, idempotency_key=key[:64])
    if name is None:
        return None
    language = translation.get_language_from_request(request)
    body = (
        _page(entry.route, language)
        .replace(BACK_MARK, entry.back.replace(str(STAND_IN), str(subject)))
        .replace(NAME_MARK, escape(name))
    )
    response = HttpResponse(body, status=409, content_type="text/html; charset=utf-8")
    response["Content-Language"] = language
    response["Vary"] = "Cookie, Accept-Language"
    response["Cache-Control"] = "private, no-store"
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS  # its middleware comes after this one
    # An expected answer, thousands a second when a flash sale sells out: not a warning in django.request's
    # log for each (Django's own mark for a response it need not log).
    response._has_been_logged = True
    return response


class SoldOutEarlyMiddleware:
    """Placed before SessionMiddleware: see the module's docstring."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and self.session_cookie in request.COOKIES:
            answer = early_answer(request)
            if answer is not None:
                return answer
        return self.get_response(request)
