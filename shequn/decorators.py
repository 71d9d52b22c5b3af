"""View decorators every app's member pages share."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.urls import reverse


def member_login_required(view):
    """Like login_required, but members sign in with their phone (operators' LOGIN_URL is e-mail)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("account_request_login_code"))
        return view(request, *args, **kwargs)

    return wrapped
