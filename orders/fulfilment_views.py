"""The operator's fulfilment queue (交付队列): every item the shop owes a member — gifts, campaigns' free
items, prizes — with its pickup point or address, and the hand-over (operators and owners; viewers read).

Reads go through orders.fulfilment scoped to the operator's shop (another shop's item is a 404); the list
runs in a constant number of queries.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import fulfilment
from .models import FulfilmentState

PAGE_SIZE = 50


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("状态"), required=False, choices=FulfilmentState.choices)


class HandOverForm(forms.Form):
    tracking_number = forms.CharField(label=gettext_lazy("运单号"), required=False, max_length=40)


@operator_required(OperatorRole.VIEWER)
@require_GET
def queue(request):
    """The owed items, oldest first (or the handed-over / void ones), 50 a page."""
    filters = QueueFilterForm(request.GET or None)
    state = (filters.cleaned_data.get("state") if filters.is_valid() else "") or FulfilmentState.OWED
    page = Paginator(fulfilment.queue_for_shop(request.shop, state=state), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/dashboard/fulfilment.html",
        {
            "page": page,
            "items": page.object_list,
            "state": state,
            "states": FulfilmentState.choices,
            "can_write": request.operator.can(OperatorRole.OPERATOR),
        },
    )


@operator_required(OperatorRole.OPERATOR)
@require_POST
def hand_over(request, pk: int):
    """Mark one item handed over (recorded with who did it in the audit log)."""
    item = fulfilment.item_for_shop(request.shop, pk)
    form = HandOverForm(request.POST)
    tracking = form.cleaned_data["tracking_number"] if form.is_valid() else ""
    try:
        fulfilment.hand_over(item=item, by=request.user, tracking_number=tracking)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已标记交付：%(label)s") % {"label": item.label})
    return redirect(reverse("dashboard:fulfilment"))
