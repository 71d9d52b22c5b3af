"""Operator pages: the shop's notifications with what became of each (sent, held, capped, failed
deliveries), retrying a failed delivery, and the shop's message rules (owner).

Every read goes through notifications.selectors with the operator's shop: another shop's row is a 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import selectors, services
from .forms import FilterForm, NotificationSettingsForm

PAGE_SIZE = 50


@require_GET
@operator_required(OperatorRole.VIEWER)
def notification_list(request):
    filters = FilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    notifications = selectors.notifications_for_shop(
        request.shop,
        state=chosen.get("state") or None,
        category=chosen.get("category") or None,
        failed_only=bool(chosen.get("failed")),
    )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/dashboard/list.html",
        {
            "page": page,
            "filters": filters,
            "failed_count": selectors.failed_count_for_shop(request.shop),
            "can_write": request.operator.can(OperatorRole.OPERATOR),
        },
    )


@require_POST
@operator_required(OperatorRole.OPERATOR)
def delivery_retry(request, pk: int):
    delivery = selectors.delivery_for_shop(request.shop, pk)
    try:
        services.retry_delivery(delivery=delivery, by=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已重新排队发送。"))
    return redirect("dashboard:notifications")


@require_http_methods(["GET", "POST"])
@operator_required(OperatorRole.OWNER)
def notification_settings(request):
    current = services.settings_for(request.shop)
    form = NotificationSettingsForm(
        request.POST or None,
        initial={
            "daily_cap": current.daily_cap,
            "weekly_cap": current.weekly_cap,
            "quiet_start": current.quiet_start,
            "quiet_end": current.quiet_end,
            "wechat_fallback": current.wechat_fallback,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("消息设置已保存。"))
            return redirect("dashboard:notification_settings")
    return render(request, "notifications/dashboard/settings.html", {"form": form})
