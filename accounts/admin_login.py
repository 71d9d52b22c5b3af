"""Rate-limit the Django admin's login form with allauth's limiter (action "admin_login")."""

from functools import wraps

from allauth.core import ratelimit


def ratelimited_admin_login(login_view):
    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method == "POST":
            username = (request.POST.get("username") or "").lower()
            if not ratelimit.consume(request, action="admin_login", key=username):
                return ratelimit.respond_429(request)
        return login_view(request, *args, **kwargs)

    return view
