"""Rate-limit the Django admin's login form with allauth's limiter (action "admin_login").

Only failed sign-ins count: each attempt takes its slot before the password is checked (so parallel
guesses cannot overrun the limit) and gives it back when the sign-in succeeds.
"""

from functools import wraps

from allauth.core import ratelimit
from allauth.core.internal.ratelimit import consume


def ratelimited_admin_login(login_view):
    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method != "POST":
            return login_view(request, *args, **kwargs)
        username = (request.POST.get("username") or "").lower()
        usage = consume(request, app="allauth.account", action="admin_login", key=username)
        if usage is None:
            return ratelimit.respond_429(request)
        response = login_view(request, *args, **kwargs)
        if response.status_code == 302 and request.user.is_authenticated:
            usage.rollback()
        return response

    return view
