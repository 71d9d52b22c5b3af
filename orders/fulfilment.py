"""The fulfilment queue (交付队列): what the shop owes members and hands over, whoever owes it.

Guarantees:
- an item is owed once per act: `owe_item` inserts under the plug-in's natural key, and a second call with
  the same key (a retry, a race) returns the first item and writes nothing;
- an item is handed over once: one conditional UPDATE (owed → handed over) decides, recording when and who,
  with an entry in the shop's audit log in the same transaction; an item whose order is still paid and
  unshipped ships that order in the same transaction (so the order's own page agrees);
- a void item (its order refunded, its gift withdrawn) is never handed over.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shops import audit
from shops.models import Shop

from .models import Delivery, FulfilmentItem, FulfilmentState, Order, OrderState, PickupPoint


@dataclass(frozen=True)
class Destination:
    """Where an owed item goes: a pickup point of the shop, or an address."""

    method: str
    recipient_name: str = ""
    recipient_phone: str = ""
    address: str = ""
    pickup_point_id: int | None = None


def check_destination(*, shop_id: int, destination: Destination) -> None:
    """Refuse (ValidationError per field) a destination that cannot be delivered to."""
    if destination.method == Delivery.SHIPPING:
        if not (
            destination.recipient_name.strip() and destination.recipient_phone.strip() and destination.address.strip()
        ):
            raise ValidationError({"address": _("快递配送需要填写收货人、电话和地址。")})
    elif destination.method == Delivery.PICKUP:
        if not PickupPoint.objects.filter(pk=destination.pickup_point_id, shop_id=shop_id, is_active=True).exists():
            raise ValidationError({"pickup_point": _("请选择本店有效的自提点。")})
    else:
        raise ValidationError({"delivery": _("请选择配送方式。")})


def owe_item(
    *,
    shop_id: int,
    member: User,
    source: str,
    key: str,
    label: str,
    destination: Destination,
    quantity: int = 1,
    order: Order | None = None,
    worth: Decimal = Decimal("0.00"),
) -> FulfilmentItem:
    """Add an owed item to the queue, once per `key` (a second call returns the first item).

    A "campaign:<id>" source links the item to that campaign; `worth` is what the shop pays for an item that
    comes with no order (a prize bought in): both are how campaign ROI finds the item's cost."""
    existing = FulfilmentItem.objects.filter(key=key).first()
    if existing is not None:
        return existing
    check_destination(shop_id=shop_id, destination=destination)
    pickup = destination.method == Delivery.PICKUP
    try:
        with transaction.atomic():
            return FulfilmentItem.objects.create(
                shop_id=shop_id,
                member=member,
                source=source[:40],
                key=key,
                campaign_id=campaign_of(source),
                worth=max(Decimal(worth), Decimal("0.00")),
                label=label[:120],
                quantity=quantity,
                order=order,
                delivery=destination.method,
                pickup_point_id=destination.pickup_point_id if pickup else None,
                recipient_name=destination.recipient_name.strip()[:30],
                recipient_phone=destination.recipient_phone.strip()[:20],
                address="" if pickup else destination.address.strip()[:200],
            )
    except IntegrityError:
        existing = FulfilmentItem.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing


def campaign_of(source: str) -> int | None:
    """The campaign a "campaign:<id>" source names (the campaigns' order source), else None."""
    prefix, _sep, rest = source.partition(":")
    if prefix == "campaign" and rest.isascii() and rest.isdigit() and len(rest) <= 18:
        return int(rest)
    return None


def void_items_of_order(order: Order) -> int:
    """The order was refunded or cancelled: what it owed is no longer owed (handed-over items stay)."""
    return FulfilmentItem.objects.filter(order_id=order.pk, state=FulfilmentState.OWED).update(
        state=FulfilmentState.VOID, voided_at=timezone.now()
    )


def void_item(key: str) -> int:
    """The act that owed the item was undone (a prize withdrawn): void it unless already handed over."""
    return FulfilmentItem.objects.filter(key=key, state=FulfilmentState.OWED).update(
        state=FulfilmentState.VOID, voided_at=timezone.now()
    )


def hand_over(*, item: FulfilmentItem, by: User, tracking_number: str = "") -> FulfilmentItem:
    """An operator hands the item over (at the pickup point, or to a courier: then with its tracking number).
    Exactly once: a second hand-over, or one of a void item, is refused."""
    from .services import ship_order

    tracking_number = tracking_number.strip()[:40]
    if item.delivery == Delivery.SHIPPING and not tracking_number:
        raise ValidationError({"tracking_number": _("快递交付需要填写运单号。")})
    now = timezone.now()
    with transaction.atomic():
        # The order's row first (the order's own writes lock it before anything they owe: refunds void items).
        order = Order.objects.select_for_update().get(pk=item.order_id) if item.order_id is not None else None
        moved = FulfilmentItem.objects.filter(pk=item.pk, state=FulfilmentState.OWED).update(
            state=FulfilmentState.HANDED_OVER, handed_over_at=now, handed_over_by=by, tracking_number=tracking_number
        )
        if moved != 1:
            item.refresh_from_db(fields=["state"])
            if item.state == FulfilmentState.VOID:
                raise ValidationError(_("这件物品已作废，无需交付。"))
            raise ValidationError(_("这件物品已经交付过了。"))
        if order is not None and order.state == OrderState.PAID:
            ship_order(order=order, by=by, tracking_number=tracking_number)
        audit.record(
            shop=item.shop_id,
            by=by,
            action="fulfilment.hand_over",
            target=item,
            before={"state": FulfilmentState.OWED},
            after={"state": FulfilmentState.HANDED_OVER, "tracking_number": tracking_number},
            label=item.label,
        )
    item.state, item.handed_over_at, item.handed_over_by = FulfilmentState.HANDED_OVER, now, by
    item.tracking_number = tracking_number
    return item


# --- Reads ----------------------------------------------------------------------------------------------


def queue_for_shop(shop: Shop, *, state: str = FulfilmentState.OWED) -> QuerySet[FulfilmentItem]:
    """The shop's items in one state, oldest first, with what a row shows (a constant number of queries)."""
    return (
        FulfilmentItem.objects.filter(shop=shop, state=state)
        .select_related("member", "pickup_point", "order", "handed_over_by")
        .order_by("owed_at", "pk")
    )


def item_for_shop(shop: Shop, pk: int) -> FulfilmentItem:
    return get_object_or_404(FulfilmentItem, shop=shop, pk=pk)
