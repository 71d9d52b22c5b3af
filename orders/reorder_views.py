"""The one-tap re-order page a repeat-purchase reminder links to (再来一单).

It shows what the member bought last time (same specs and quantities, today's prices) with last time's
delivery, and one button that places the order through orders.services.place_order with an idempotency key
rendered into the page (a double tap is one order). Only the member's own due dates are visible: anyone
else's product is a 404; a member no longer in the group is told so.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from groups.models import Membership, MembershipStatus
from shequn.decorators import member_login_required

from . import selectors, services
from .models import Delivery, Order, Sku
from .services import DeliveryRequest, IdempotencyConflict, LineRequest

SOURCE = "repurchase_reminder"


def _last_order(due) -> Order | None:
    return (
        Order.objects.filter(pk=due.cycle, member_id=due.member_id)
        .select_related("pickup_point")
        .prefetch_related("lines")
        .first()
    )


def _lines(due, order: Order | None) -> list[dict]:
    """Last time's specs of the product, priced now, if still for sale in the group."""
    wanted = {}
    for line in order.lines.all() if order else []:
        if line.product_id == due.product_id:
            wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    skus = (
        Sku.objects.filter(pk__in=wanted, is_active=True, product__in=selectors.products_for_group(due.group))
        .select_related("product")
        .order_by("price", "pk")
    )
    return [{"sku": sku, "quantity": wanted[sku.pk], "line_total": sku.price * wanted[sku.pk]} for sku in skus]


def _delivery(order: Order | None) -> DeliveryRequest | None:
    if order is None:
        return None
    if order.delivery == Delivery.PICKUP:
        return DeliveryRequest(
            method=Delivery.PICKUP,
            recipient_name=order.recipient_name,
            recipient_phone=order.recipient_phone,
            pickup_point_id=order.pickup_point_id,
        )
    return DeliveryRequest(
        method=Delivery.SHIPPING,
        recipient_name=order.recipient_name,
        recipient_phone=order.recipient_phone,
        address=order.address,
    )


def _render(request, due, order, lines, key: str, errors: list[str] = (), status: int = 200) -> HttpResponse:
    return render(
        request,
        "orders/member/reorder.html",
        {
            "due": due,
            "product": due.product,
            "group": due.group,
            "order": order,
            "lines": lines,
            "total": sum((line["line_total"] for line in lines), start=services.ZERO),
            "idempotency_key": key,
            "errors": errors,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def reorder(request: HttpRequest, product_id: int) -> HttpResponse:
    due = selectors.repurchase_due_for_member(request.user, product_id)
    in_group = Membership.objects.filter(group=due.group, user=request.user, status=MembershipStatus.ACTIVE).exists()
    if not in_group:
        return render(
            request,
            "orders/member/reorder.html",
            {"due": due, "product": due.product, "group": due.group, "not_in_group": True},
            status=403,
        )
    order = _last_order(due)
    lines = _lines(due, order)
    if request.method == "GET":
        return _render(request, due, order, lines, uuid.uuid4().hex)

    key = request.POST.get("idempotency_key", "").strip()
    if not 0 < len(key) <= 64:
        key = uuid.uuid4().hex
    if not lines or order is None:
        return _render(request, due, order, lines, key, [_("上次购买的规格已下架，请到群小店重新选择。")], status=400)
    try:
        placed = services.place_order(
            member=request.user,
            group=due.group,
            lines=[LineRequest(line["sku"].pk, line["quantity"]) for line in lines],
            delivery=_delivery(order),
            idempotency_key=key,
            source=SOURCE,
        )
    except IdempotencyConflict:
        return redirect("orders:my_orders")
    except ValidationError as error:
        return _render(request, due, order, lines, key, error.messages, status=400)
    messages.success(request, _("已为你再来一单，请尽快完成付款。"))
    return redirect("orders:member_order", pk=placed.pk)
