from django.utils.functional import SimpleLazyObject

from .selectors import unread_count_for_member


def inbox(request):
    """`inbox_unread` for the mobile header's badge: one COUNT query, run only if a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: unread_count_for_member(user))}
