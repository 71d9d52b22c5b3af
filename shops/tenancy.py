"""Who is the operator and which shop are they working in. Every dashboard view goes through here.

A user may staff several shops; the one they work in is kept in the session. Views receive
`request.shop` and `request.operator`, and must scope every query to `request.shop`.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from .models import Operator, OperatorRole

SESSION_SHOP_KEY = "shequn_shop_id"


def seats_for(user) -> list[Operator]:
    if not user.is_authenticated:
        return []
    return list(Operator.objects.filter(user=user).select_related("shop").order_by("shop__name", "pk"))


def current_seat(request: HttpRequest) -> Operator | None:
    if hasattr(request, "_shequn_seat"):
        return request._shequn_seat
    seats = seats_for(request.user)
    wanted = request.session.get(SESSION_SHOP_KEY) if hasattr(request, "session") else None
    seat = next((s for s in seats if s.shop_id == wanted), seats[0] if seats else None)
    request._shequn_seat = seat
    request._shequn_seats = seats
    return seat


def operator_required(role: str = OperatorRole.VIEWER):
    """Login, a seat on some shop, and at least `role`; write actions ask for OPERATOR or OWNER."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            seat = current_seat(request)
            if seat is None:
                return render(request, "shops/no_shop.html", status=403)
            if not seat.can(role):
                raise PermissionDenied(_("您的角色无权执行此操作。"))
            request.operator = seat
            request.shop = seat.shop
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
