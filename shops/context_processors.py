from .tenancy import current_seat


def current_shop(request):
    """The dashboard header shows the current shop and lets a multi-shop operator switch."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if not request.path.startswith("/dashboard/"):
        return {}
    seat = current_seat(request)
    return {"current_seat": seat, "all_seats": getattr(request, "_shequn_seats", [])}
