"""Members' mobile (H5) pages: the inbox, opening a message (marks it read), and message preferences.

A member only ever sees their own notifications, and preferences of shops they belong to; anything
else is a 404. Rules live in notifications.services.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequn.decorators import member_login_required

from . import selectors, services
from .forms import PreferenceForm

PER_PAGE = 20


@require_GET
@member_login_required
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox_for_member(request.user, unread_only=unread_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/member/inbox.html", {"page": page, "unread_only": unread_only})


@require_GET
@member_login_required
def detail(request, pk: int):
    """Opening a message marks it read."""
    notification = services.mark_read(notification=selectors.notification_for_member(request.user, pk))
    # Our own pages only (relative, or on this site's address): a message is no way to send members elsewhere.
    ours = {request.get_host(), urlsplit(settings.SITE_URL).netloc}
    link = notification.url if url_has_allowed_host_and_scheme(notification.url, allowed_hosts=ours) else ""
    return render(request, "notifications/member/detail.html", {"notification": notification, "link": link})


@require_POST
@member_login_required
def read_all(request):
    services.mark_all_read(user=request.user)
    messages.success(request, _("已全部标为已读。"))
    return redirect("notifications:inbox")


@require_GET
@member_login_required
def preferences(request):
    """The shops the member hears from; with only one, its preferences directly."""
    shops = list(selectors.shops_for_member(request.user))
    if len(shops) == 1:
        return redirect("notifications:shop_preferences", shops[0].pk)
    return render(request, "notifications/member/preferences_shops.html", {"shops": shops})


@require_http_methods(["GET", "POST"])
@member_login_required
def shop_preferences(request, shop_id: int):
    shop = selectors.shop_for_member(request.user, shop_id)
    preference = services.preferences_for(request.user, shop)
    shop_settings = services.settings_for(shop)
    form = PreferenceForm(request.POST or None, initial=PreferenceForm.initial_for(preference))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_preferences(
                user=request.user,
                shop=shop,
                marketing=data["marketing"],
                reminder=data["reminder"],
                campaign=data["campaign"],
                quiet_start=data["quiet_start"],
                quiet_end=data["quiet_end"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("消息设置已保存。"))
            return redirect("notifications:shop_preferences", shop.pk)
    return render(
        request,
        "notifications/member/preferences.html",
        {
            "shop": shop,
            "form": form,
            "shop_settings": shop_settings,
            "several_shops": selectors.shops_for_member(request.user).exclude(pk=shop.pk).exists(),
        },
    )
