"""Operator dashboard pages for repeat-purchase reminders (复购提醒): per product, reminders sent, re-orders
within the conversion window, the conversion rate and the members due next.

Reads go through orders.selectors scoped to the operator's shop (another shop's product is a 404); every
list runs in a constant number of queries. Read-only pages: viewers see them too.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import selectors
from .reminders import CONVERSION_WINDOW

PAGE_SIZE = 50
DUE_SOON = timedelta(days=7)


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("统计区间"),
        coerce=int,
        required=False,
        empty_value=30,
        choices=[(7, _("近 7 天")), (30, _("近 30 天")), (90, _("近 90 天")), (0, _("全部"))],
    )

    def since(self, now):
        days = self.cleaned_data["days"] if self.is_valid() else 30
        return (now - timedelta(days=days) if days else None), days


def conversion_rate(reorders: int, sent: int) -> Decimal | None:
    """Re-orders per reminder sent, in percent with one decimal (None when nothing was sent)."""
    if not sent:
        return None
    return (Decimal(reorders) * 100 / Decimal(sent)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _with_rates(products):
    for product in products:
        product.conversion = conversion_rate(product.reorders, product.reminders_sent)
    return products


@operator_required(OperatorRole.VIEWER)
@require_GET
def reminders(request):
    now = timezone.now()
    period = PeriodForm(request.GET or None)
    since, days = period.since(now)
    page = Paginator(
        selectors.reminder_stats_for_shop(request.shop, since=since, now=now, due_within=DUE_SOON), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    _with_rates(page)
    return render(
        request,
        "orders/dashboard/reminders.html",
        {
            "page": page,
            "period": period,
            "days": days,
            "window_days": CONVERSION_WINDOW.days,
            "due_days": DUE_SOON.days,
        },
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def reminder_product(request, pk: int):
    now = timezone.now()
    period = PeriodForm(request.GET or None)
    since, days = period.since(now)
    product = selectors.product_reminder_stats(request.shop, pk, since=since, now=now)
    _with_rates([product])
    dues = Paginator(selectors.dues_for_product(product), PAGE_SIZE).get_page(request.GET.get("page"))
    sent = Paginator(selectors.reminders_for_product(product), PAGE_SIZE).get_page(request.GET.get("links_page"))
    return render(
        request,
        "orders/dashboard/reminders_product.html",
        {
            "product": product,
            "dues": dues,
            "sent": sent,
            "period": period,
            "days": days,
            "now": now,
            "window_days": CONVERSION_WINDOW.days,
        },
    )
