from django.shortcuts import redirect, render

from shops.tenancy import current_seat


def home(request):
    """Operators land on their dashboard, members on their groups, visitors on the welcome page."""
    if request.user.is_authenticated:
        if current_seat(request) is not None:
            return redirect("dashboard:groups")
        return redirect("member:my_groups")
    return render(request, "home.html")
