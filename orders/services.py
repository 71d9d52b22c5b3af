"""Writes for orders: placing, paying, cancelling, shipping, refunding, after-sales.

Guarantees:
- stock is reserved when an order is placed and given back exactly once (cancel or refund);
  no oversell: one conditional UPDATE per SKU (`stock >= n`), in primary-key order, decides, and a CHECK
  constraint stands behind it. Those UPDATEs are the last writes of the transaction (shequn.locks
  `take_last`): after the order's rows, its order_created receivers and whatever the caller writes with
  the order inside its own `hot_rows_last` block (a campaign's order row, a team seat), so the hot SKU row
  is held from its UPDATE to COMMIT only; giving stock back is taken last the same way;
- an idempotency key returns the same order for the same request and refuses a different one;
- a provider notification is processed exactly once, after its signature, amount and currency
  are verified; a payment that arrives for a cancelled order is refunded automatically;
- an order's paid_amount and refunded_amount are the sums of its succeeded payments and refunds at
  every moment: each moves under the order's row lock in the transaction where a payment or refund
  succeeds, and never otherwise (orders.reconciliation.order_ledger_mismatches checks it);
- no row lock is held while talking to a payment provider: provider calls run after commit;
- an order's price is orders.pricing's (its adjustments written with it, adding up: a constraint trigger
  checks at COMMIT), and an order priced to 0 is paid at once with no Payment;
- every order refund is split over the lines (RefundLine), and no line is refunded beyond what was paid
  for it (a CHECK on the line).
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Group, Membership, MembershipStatus
from shequn import hooks, images, kicks, locks
from shops import audit
from shops.models import Shop, ShopSettings

from . import pricing, soldout
from .lifecycle import PAID_STATES, TransitionRefused, transition_order
from .models import (
    ZERO,
    AfterSalesCase,
    CasePhoto,
    CaseState,
    Delivery,
    Order,
    OrderAdjustment,
    OrderLine,
    OrderState,
    OrderTransition,
    Payment,
    PaymentState,
    PickupPoint,
    ProviderNotification,
    Refund,
    RefundLine,
    RefundState,
    Sku,
)
from .payments import Notification, ProviderError, get_provider

logger = logging.getLogger("shequn.payments")
CENT = Decimal("0.01")
MAX_QUANTITY = 999  # per order line


class IdempotencyConflict(ValidationError):
    """The same idempotency key was used with a different request body."""


@dataclass(frozen=True)
class LineRequest:
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class DeliveryRequest:
    method: str
    recipient_name: str = ""
    recipient_phone: str = ""
    address: str = ""
    pickup_point_id: int | None = None


def _fingerprint(
    group_id: int,
    lines: list[LineRequest],
    delivery: DeliveryRequest,
    note: str,
    unit_price: Decimal | None = None,
    choices: dict[str, str] | None = None,
) -> str:
    request = {
        "group": group_id,
        "lines": sorted([[line.sku_id, line.quantity] for line in lines]),
        "delivery": [
            delivery.method,
            delivery.recipient_name,
            delivery.recipient_phone,
            delivery.address,
            delivery.pickup_point_id,
        ],
        "note": note,
    }
    if unit_price is not None:  # only then, so the fingerprints of ordinary orders stay as they were
        request["unit_price"] = str(unit_price)
    if choices:  # likewise
        request["choices"] = sorted(choices.items())
    canonical = json.dumps(request, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_or_conflict(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise IdempotencyConflict({"idempotency_key": _("这个幂等键已用于另一笔不同的下单请求。")})
    return order


def _new_order_number() -> str:
    return timezone.localtime().strftime("%y%m%d%H%M") + secrets.token_hex(4).upper()


def place_order(**request) -> Order:
    """Place an order (see place_or_find_order) and return it, whether this call or an earlier one placed it."""
    return place_or_find_order(**request).order


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # True for exactly one of any number of calls with the same key, however concurrent


def place_or_find_order(
    *,
    member: User,
    group: Group,
    lines: list[LineRequest],
    delivery: DeliveryRequest,
    idempotency_key: str,
    note: str = "",
    source: str = "",
    unit_price: Decimal | None = None,
    choices: dict[str, str] | None = None,
) -> Placed:
    """Place an order from a group the member is in, reserving stock; safe to retry with the same key.

    `source` marks who placed it (e.g. "campaign:12": receivers of the shequn.hooks order hooks dispatch on it) and
    `unit_price` is the price of a one-line order decided by the caller (a campaign price): the line stays at
    the SKU's price and the difference is a CAMPAIGN_PRICE adjustment of that source (so every discount is a
    row); a price above the SKU's is the line's price. Orders know nothing else of campaigns. `choices` are
    what the member chose at checkout for the pricing plug-ins ({"coupon": "12", "points": "300"}, see
    orders.pricing); they are part of the request, so the same key with other choices is a conflict. The price
    is orders.pricing.price_draft's: a total of 0 needs no payment, and the order is paid at once. `created` is
    decided by the unique (member, key) constraint: only the call whose insert committed says it placed the
    order.
    """
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 64:
        raise ValidationError({"idempotency_key": _("需要 1–64 个字符的幂等键。")})
    if unit_price is not None:
        unit_price = Decimal(unit_price).quantize(CENT)
        if unit_price <= 0 or len(lines) != 1:
            raise ValidationError({"lines": _("指定单价的订单只能有一行商品，且单价必须大于 0。")})
    choices = _clean_choices(choices)
    fingerprint = _fingerprint(group.pk, lines, delivery, note, unit_price, choices)
    existing = Order.objects.filter(member=member, idempotency_key=idempotency_key).first()
    if existing:
        return Placed(_same_or_conflict(existing, fingerprint), created=False)
    refuse_if_sold_out(lines)
    _validate_request(member=member, group=group, lines=lines, delivery=delivery, source=source)
    try:
        with transaction.atomic(), locks.hot_rows_last():
            order = _reserve_and_create(
                member=member,
                group=group,
                lines=lines,
                delivery=delivery,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                note=note,
                source=source,
                unit_price=unit_price,
                choices=choices,
            )
    except IntegrityError as exc:
        # Either a concurrent request with the same key won, or a constraint caught bad input.
        existing = Order.objects.filter(member=member, idempotency_key=idempotency_key).first()
        if existing:
            return Placed(_same_or_conflict(existing, fingerprint), created=False)
        # The database's message names tables and rows; the member gets a plain one.
        logger.warning("order refused by a constraint: %s", exc)
        raise ValidationError(_("下单失败，请检查订单内容后重试。")) from exc
    return Placed(order, created=True)


def _clean_choices(choices: dict[str, str] | None) -> dict[str, str]:
    """The member's pricing choices as short strings; an empty value is no choice."""
    cleaned = {str(key).strip(): str(value).strip() for key, value in (choices or {}).items()}
    cleaned = {key: value for key, value in cleaned.items() if key and value}
    if len(cleaned) > 10 or any(len(key) > 20 or len(value) > 60 for key, value in cleaned.items()):
        raise ValidationError({"choices": _("优惠选项格式不正确。")})
    return cleaned


def quote_order(
    *,
    member: User,
    group: Group,
    lines: list[LineRequest],
    choices: dict[str, str] | None = None,
    source: str = "",
    unit_price: Decimal | None = None,
) -> pricing.Priced:
    """What the order would cost now with these choices (orders.pricing, `quote_only`): for the checkout page
    and the API, written nowhere. Lines not on sale in the group's shop are left out (placing refuses them).
    `unit_price` as in place_or_find_order (a campaign's checkout page)."""
    wanted = {line.sku_id: line.quantity for line in lines}
    skus = list(Sku.objects.filter(pk__in=wanted, product__shop_id=group.shop_id).order_by("pk"))
    line_prices, extra = _line_prices(skus, wanted, unit_price, source)
    return pricing.price_draft(
        pricing.PricingDraft(
            member=member,
            group=group,
            lines=[pricing.PricedLine(sku.pk, sku.product_id, line_prices[sku.pk], wanted[sku.pk]) for sku in skus],
            choices=_clean_choices(choices),
            source=source,
            quote_only=True,
        ),
        extra=extra,
    )


def _line_prices(
    skus: list[Sku], wanted: dict[int, int], unit_price: Decimal | None, source: str
) -> tuple[dict[int, Decimal], list[pricing.Adjustment]]:
    """Each line's unit price and the caller's price as an adjustment: a price below the SKU's leaves the line
    at the SKU's price with a CAMPAIGN_PRICE adjustment of the difference on that line (its source the
    caller's), so that the discount is a row of its own, refunded back by line like any other."""
    prices = {sku.pk: sku.price for sku in skus}
    extra: list[pricing.Adjustment] = []
    if unit_price is None:
        return prices, extra
    for sku in skus:
        if unit_price >= sku.price:
            prices[sku.pk] = unit_price
            continue
        extra.append(
            pricing.Adjustment(
                kind=pricing.AdjustmentKind.CAMPAIGN_PRICE,
                source=(source or "price")[:60],
                amount=(unit_price - sku.price) * wanted[sku.pk],
                reason=_("活动价 ¥%(price)s") % {"price": unit_price},
                sku_id=sku.pk,
            )
        )
    return prices, extra


def refuse_if_sold_out(lines: list[LineRequest]) -> None:
    """Refuse at once, before any order work, when a requested SKU is flagged sold out (orders.soldout)."""
    name = soldout.first_sold_out(line.sku_id for line in lines)
    if name is not None:
        raise ValidationError({"lines": _("「%(name)s」已售罄。") % {"name": name}}, code="sold_out")


def _validate_request(
    *, member: User, group: Group, lines: list[LineRequest], delivery: DeliveryRequest, source: str = ""
) -> None:
    errors: dict[str, str] = {}
    if not Membership.objects.filter(group=group, user=member, status=MembershipStatus.ACTIVE).exists():
        raise ValidationError(_("加入这个群后才能在群内下单。"))
    if not lines:
        errors["lines"] = _("请至少选择一件商品。")
    elif any(not isinstance(line.quantity, int) or line.quantity < 1 or line.quantity > MAX_QUANTITY for line in lines):
        errors["lines"] = _("每件商品的数量必须是 1–999 之间的整数。")
    elif len({line.sku_id for line in lines}) != len(lines):
        errors["lines"] = _("同一规格请合并为一行。")
    if delivery.method == Delivery.SHIPPING:
        if not (delivery.recipient_name.strip() and delivery.recipient_phone.strip() and delivery.address.strip()):
            errors["address"] = _("快递配送需要填写收货人、电话和地址。")
    elif delivery.method == Delivery.PICKUP:
        if not PickupPoint.objects.filter(pk=delivery.pickup_point_id, shop_id=group.shop_id, is_active=True).exists():
            errors["pickup_point"] = _("请选择本店有效的自提点。")
    elif delivery.method == Delivery.NONE and source:
        pass  # a plug-in's order whose goods go elsewhere (a paid gift: to the friend who claims it)
    else:
        errors["delivery"] = _("请选择配送方式。")
    if errors:
        raise ValidationError(errors)


def _reserve_and_create(
    *, member, group, lines, delivery, idempotency_key, fingerprint, note, source, unit_price=None, choices=None
) -> Order:
    """Everything that needs no SKU lock first (checks, limits, referrer, settings, the inserts, the
    order_created receivers), then the stock, taken by one conditional UPDATE per SKU in primary-key order
    handed to `locks.take_last`: the last writes of the transaction (or of the caller's `hot_rows_last`
    block), so the hot SKU row is held from its UPDATE to COMMIT only.

    The prices are the ones read at the start of the transaction (the ones the member confirmed), priced
    by orders.pricing (the plug-ins' adjustments, written as OrderAdjustment rows before order_created);
    a SKU taken off sale meanwhile is refused by its UPDATE's condition. A total of 0 is paid at once.
    """
    wanted = {line.sku_id: line.quantity for line in lines}
    skus = list(
        Sku.objects.select_related("product").filter(pk__in=wanted, product__shop_id=group.shop_id).order_by("pk")
    )
    if len(skus) != len(wanted):  # another shop's SKU is "not found" too: its name is not this member's to see
        raise ValidationError({"lines": _("商品不存在或已下架。")})
    for sku in skus:
        _check_sku_orderable(sku=sku, group=group, member=member, quantity=wanted[sku.pk])
    price, extra = _line_prices(skus, wanted, unit_price, source)
    priced = pricing.price_draft(
        pricing.PricingDraft(
            member=member,
            group=group,
            lines=[pricing.PricedLine(sku.pk, sku.product_id, price[sku.pk], wanted[sku.pk]) for sku in skus],
            choices=dict(choices or {}),
            source=source,
            quote_only=False,
        ),
        extra=extra,
    )
    now = timezone.now()
    order = Order(
        shop_id=group.shop_id,
        group=group,
        member=member,
        number=_new_order_number(),
        state=OrderState.PENDING_PAYMENT,
        source=source,
        subtotal=priced.subtotal,
        discount=priced.discount,
        charges=priced.charges,
        total=priced.total,
        delivery=delivery.method,
        recipient_name=delivery.recipient_name.strip(),
        recipient_phone=delivery.recipient_phone.strip(),
        address=delivery.address.strip(),
        pickup_point_id=delivery.pickup_point_id if delivery.method == Delivery.PICKUP else None,
        note=note[:200],
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        created_at=now,
        pay_deadline=now + timedelta(minutes=_payment_timeout_minutes(group)),
    )
    hooks.order_placing.run(order)  # referrals fills in the referrer
    order.save(force_insert=True)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                sku=sku,
                product=sku.product,
                product_name=sku.product.name,
                spec=sku.spec,
                unit_price=price[sku.pk],
                quantity=wanted[sku.pk],
                line_total=price[sku.pk] * wanted[sku.pk],
                adjustment_amount=priced.line_adjustment.get(sku.pk, ZERO),
            )
            for sku in skus
        ]
    )
    _write_adjustments(order, priced)
    OrderTransition.objects.create(
        order=order, from_state="", to_state=OrderState.PENDING_PAYMENT, by=member, reason=_("下单")
    )
    locks.take_last(locks.Rank.SKU_STOCK, lambda: _take_stock(skus, wanted))
    hooks.order_created.run(order)
    if order.total == 0:
        _pay_free_order(order)
    return order


def _take_stock(skus: list[Sku], wanted: dict[int, int]) -> None:
    """The order's stock, one conditional UPDATE per SKU in primary-key order (no deadlock between orders
    sharing SKUs); a refusal names the SKU and rolls the whole order back."""
    for sku in skus:
        if not _reserve_stock(sku, wanted[sku.pk]):
            sku.refresh_from_db(fields=["is_active", "stock"])
            if not sku.is_active:
                raise ValidationError({"lines": _("「%(name)s」不可购买。") % {"name": sku}})
            if sku.stock == 0:
                soldout.mark(sku.pk, str(sku))
            raise ValidationError({"lines": _("「%(name)s」库存不足。") % {"name": sku}})
        if sku.stock == 0:
            soldout.mark_on_commit(sku.pk, str(sku))


def _write_adjustments(order: Order, priced: pricing.Priced) -> None:
    if not priced.adjustments:
        return
    OrderAdjustment.objects.bulk_create(
        [
            OrderAdjustment(
                order=order,
                kind=adjustment.kind,
                source=adjustment.source,
                amount=adjustment.amount,
                reason=adjustment.reason[:200],
                sku_id=adjustment.sku_id,
                shares={str(sku_id): str(part) for sku_id, part in share.items()},
                position=position,
            )
            for position, (adjustment, share) in enumerate(zip(priced.adjustments, priced.shares, strict=True))
        ]
    )


def _pay_free_order(order: Order) -> None:
    """An order whose adjustments bring it to 0 (a gift, a free item, points that cover it) needs no payment:
    it moves to paid by the same transition and hooks as a paid one, with no Payment row."""
    transition_order(order=order, to_state=OrderState.PAID, by=None, reason=_("无需付款"), paid_at=timezone.now())
    hooks.order_paid.run(order)


def set_referrer_if_unset(*, order: Order, referrer: User) -> bool:
    """Credit `referrer` with an order placed before its member was bound to anyone (a newcomer's 拼团 seat,
    bound by the act its payment completes). The referrer stamped when the order was placed, or by an
    earlier call, is kept: one conditional UPDATE (`referrer IS NULL`) decides, so a replayed payment or a
    second binding changes nothing. Returns True when this call set it (the instance is updated too)."""
    updated = Order.objects.filter(pk=order.pk, referrer__isnull=True).update(referrer=referrer)
    if updated:
        order.referrer = referrer
    return bool(updated)


def _payment_timeout_minutes(group: Group) -> int:
    """The shop's time to pay: from the group's shop settings when loaded, else one read of that one column
    (not the shop's row and then its settings' row)."""
    if Group.shop.is_cached(group) and Shop.settings.is_cached(group.shop):
        return group.shop.settings.payment_timeout_minutes
    return ShopSettings.objects.values_list("payment_timeout_minutes", flat=True).get(shop_id=group.shop_id)


def _reserve_stock(sku: Sku, quantity: int) -> bool:
    """Take `quantity` units of a SKU on sale if there are that many: one conditional UPDATE (it locks the
    row till COMMIT), a CHECK constraint behind it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Sku._meta.db_table} SET stock = stock - %s WHERE id = %s AND stock >= %s AND is_active "
            "RETURNING stock",
            [quantity, sku.pk, quantity],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    sku.stock = row[0]
    return True


def _check_sku_orderable(*, sku: Sku, group: Group, member: User, quantity: int) -> None:
    product = sku.product
    if product.shop_id != group.shop_id or not (product.is_active and sku.is_active):
        raise ValidationError({"lines": _("「%(name)s」不可购买。") % {"name": sku}})
    if not product.offered_to_all_groups and not product.groups.filter(pk=group.pk).exists():
        raise ValidationError({"lines": _("「%(name)s」不在这个群销售。") % {"name": sku}})
    if sku.per_member_limit is not None:
        # One member's orders of one limited SKU wait for each other till commit (the SKU row itself is
        # not locked yet), so two of them cannot both pass this count.
        locks.lock(locks.Namespace.SKU_MEMBER, locks.pair_key(sku.pk, member.pk))
        bought = (
            OrderLine.objects.filter(sku=sku, order__member=member)
            .exclude(order__state__in=[OrderState.CANCELLED, OrderState.REFUNDED])
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if bought + quantity > sku.per_member_limit:
            raise ValidationError(
                {
                    "lines": _("「%(name)s」每人限购 %(limit)d 件，你已购买 %(bought)d 件。")
                    % {"name": sku, "limit": sku.per_member_limit, "bought": bought}
                }
            )


def _return_stock_once(order: Order) -> bool:
    """Give the order's reserved stock back; the stamp makes a second call a no-op. The SKU rows are written
    last (`locks.take_last`), in the same rank order as placing takes them."""
    if Order.objects.filter(pk=order.pk, stock_returned_at__isnull=True).update(stock_returned_at=timezone.now()) != 1:
        return False
    lines = list(order.lines.order_by("sku_id").values_list("sku_id", "quantity"))

    def give_back() -> None:
        for sku_id, quantity in lines:
            Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantity)

    locks.take_last(locks.Rank.SKU_STOCK, give_back)
    soldout.clear_on_commit([sku_id for sku_id, _quantity in lines])
    return True


# --- Member and operator actions ------------------------------------------------------------------


def _record_move(order: Order, *, by: User | None, action: str, was: str, **after) -> None:
    """An operator's move of an order goes in the shop's audit log; the member's own moves and the
    jobs' (by=None) are in the order's transitions only."""
    if by is None or by.pk == order.member_id:
        return
    audit.record(
        shop=order.shop_id,
        by=by,
        action=action,
        target=order,
        before={"state": was},
        after={"state": order.state, **after},
    )


def cancel_order(*, order: Order, by: User | None, reason: str = "") -> Order:
    """Pending payment → cancelled (member, operator or the timeout job); stock comes back once."""
    with transaction.atomic(), locks.hot_rows_last():
        order = Order.objects.select_for_update().get(pk=order.pk)
        was = order.state
        transition_order(order=order, to_state=OrderState.CANCELLED, by=by, reason=reason or _("取消订单"))
        _return_stock_once(order)
        hooks.order_cancelled.run(order)
        _record_move(order, by=by, action="order.cancel", was=was, reason=reason)
    return order


def cancel_overdue_orders(*, now=None, limit: int = 500) -> int:
    """Cancel orders whose payment deadline passed. Each order in its own transaction; safe to run twice."""
    now = now or timezone.now()
    cancelled = 0
    ids = list(
        Order.objects.filter(state=OrderState.PENDING_PAYMENT, pay_deadline__lt=now).values_list("pk", flat=True)[
            :limit
        ]
    )
    for pk in ids:
        try:
            cancel_order(order=Order(pk=pk), by=None, reason=_("超时未付款，自动取消"))
            cancelled += 1
        except TransitionRefused:
            continue  # paid or cancelled meanwhile
    return cancelled


def ship_order(*, order: Order, by: User, tracking_number: str = "") -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.delivery == Delivery.SHIPPING and not tracking_number.strip():
            raise ValidationError({"tracking_number": _("快递订单发货需要填写运单号。")})
        hooks.order_shipping.run(order)
        was = order.state
        transition_order(
            order=order, to_state=OrderState.SHIPPED, by=by, reason=_("发货"), tracking_number=tracking_number.strip()
        )
        _record_move(order, by=by, action="order.ship", was=was, tracking_number=order.tracking_number)
    return order


def complete_order(*, order: Order, by: User | None) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        transition_order(order=order, to_state=OrderState.COMPLETED, by=by, reason=_("确认收货"))
    return order


def request_refund(*, order: Order, by: User, reason: str) -> Order:
    if not reason.strip():
        raise ValidationError({"reason": _("请填写退款原因。")})
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        transition_order(order=order, to_state=OrderState.REFUND_REQUESTED, by=by, reason=reason)
    return order


def reject_refund(*, order: Order, by: User, reason: str) -> Order:
    """Refuse a refund request; never once a refund was approved and sent (the money is on its way)."""
    if not reason.strip():
        raise ValidationError({"reason": _("请填写拒绝原因。")})
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.refunds.filter(key=_full_refund_key(order), state=RefundState.PENDING).exists():
            raise TransitionRefused(_("退款已同意并在处理中，不能再拒绝。"))
        was = order.state
        transition_order(order=order, to_state=OrderState.REFUND_REJECTED, by=by, reason=reason)
        _record_move(order, by=by, action="order.refund.reject", was=was, reason=reason)
    return order


def _full_refund_key(order: Order) -> str:
    return f"order:{order.pk}:full"


def approve_refund(*, order: Order, by: User | None, reason: str = "") -> Refund | None:
    """Refund what is left of a refund-requested order; it becomes 'refunded' when the provider confirms.
    `by` is the operator who approved (recorded), or None when a campaign's rule refunds it.
    With nothing left to return (a free order, or partial refunds returned it all) the order is refunded
    at once, with no Refund row: None."""
    return _approve_refund(order=order, by=by, reason=reason, action="order.refund.approve")


def _approve_refund(
    *, order: Order, by: User | None, reason: str, action: str, was: str | None = None
) -> Refund | None:
    with transaction.atomic(), locks.hot_rows_last():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.state != OrderState.REFUND_REQUESTED:
            raise TransitionRefused(_("只有退款申请中的订单可以退款。"))
        if _nothing_to_return(order):
            was = was or order.state
            transition_order(order=order, to_state=OrderState.REFUNDED, by=by, reason=reason or _("无需退款"))
            _return_stock_once(order)
            hooks.order_refunded.run(order)
            _record_move(order, by=by, action=action, was=was, refund="0.00", reason=reason)
            return None
        refund = _create_refund(
            order=order, key=_full_refund_key(order), amount=refundable(order), reason=reason or _("同意退款")
        )
        _record_move(order, by=by, action=action, was=was or order.state, refund=refund.amount, reason=reason)
    _start_refund_after_commit(refund)
    return refund


def _nothing_to_return(order: Order) -> bool:
    return (
        order.paid_amount == order.refunded_amount
        and not order.refunds.filter(key=_full_refund_key(order)).exists()
        and not order.refunds.filter(state=RefundState.PENDING).exists()
    )


def refund_order(*, order: Order, by: User, reason: str) -> Refund | None:
    """An operator refunds a paid order outright: request and approval in one step, one transaction,
    so a refund that cannot be paid out leaves the order as it was."""
    with transaction.atomic():
        was = Order.objects.select_for_update().values_list("state", flat=True).get(pk=order.pk)
        request_refund(order=order, by=by, reason=reason)
        return _approve_refund(order=order, by=by, reason=reason, action="order.refund", was=was)


def refund_part(*, order: Order, amount: Decimal, key: str, reason: str, by: User | None = None) -> Refund:
    """A partial refund that keeps the order's state (e.g. a price difference owed to the member).

    Idempotent on `key`. The amount never exceeds what is left to refund, and is split over the lines by
    what each still has (never beyond what was paid for a line). `by`: the operator who refunds (recorded
    in the shop's audit log), or None when a rule does (a campaign's price difference).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.state not in PAID_STATES:
            raise TransitionRefused(_("订单未付款，无法退款。"))
        if by is not None and not reason.strip():
            raise ValidationError({"reason": _("请填写退款原因。")})
        known = Refund.objects.filter(key=key).exists()
        refund = _create_refund(order=order, key=key, amount=amount, reason=reason)
        if not known:
            _record_move(order, by=by, action="order.refund.part", was=order.state, refund=refund.amount, reason=reason)
    _start_refund_after_commit(refund)
    return refund


def refundable(order: Order) -> Decimal:
    """The member's money the shop still holds for this order and no refund is on its way for."""
    pending = order.refunds.filter(state=RefundState.PENDING).aggregate(s=Sum("amount"))["s"] or ZERO
    return order.paid_amount - order.refunded_amount - pending


def _create_refund(*, order: Order, key: str, amount: Decimal, reason: str) -> Refund:
    existing = Refund.objects.filter(key=key).first()
    if existing:
        return existing
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0 or amount > refundable(order):
        raise ValidationError({"amount": _("退款金额超出可退金额。")})
    payment = order.payments.filter(state=PaymentState.SUCCEEDED).order_by("pk").first()
    if payment is None:
        raise ValidationError(_("订单没有成功的支付，无法退款。"))
    refund = Refund.objects.create(order=order, payment=payment, key=key, amount=amount, reason=reason[:200])
    _split_refund_over_lines(refund)
    return refund


def _split_refund_over_lines(refund: Refund) -> None:
    """Split an order refund over its lines in proportion to what is still refundable on each (largest
    remainder, by fen, ties to the lowest line id), so that a partial refund of a discounted order gives
    each line back its share of the discount and never more than was paid for it (the line's CHECK stands
    behind it). Runs under the order's row lock. Money beyond the lines (a duplicate payment whose own
    refund failed) is left unsplit."""
    lines = list(OrderLine.objects.filter(order_id=refund.order_id).order_by("pk"))
    room = [(line.pk, line.refundable) for line in lines]
    to_split = min(refund.amount, sum((left for _pk, left in room), start=ZERO))
    parts = {pk: part for pk, part in pricing.split_by_fen(to_split, room).items() if part > 0}
    if not parts:
        return
    RefundLine.objects.bulk_create([RefundLine(refund=refund, line_id=pk, amount=part) for pk, part in parts.items()])
    for pk, part in parts.items():
        OrderLine.objects.filter(pk=pk).update(refunded_amount=F("refunded_amount") + part)


def _give_back_refund_lines(refund: Refund) -> None:
    """A failed refund returned nothing: its lines may be refunded again."""
    for pk, part in refund.line_parts.values_list("line_id", "amount"):
        OrderLine.objects.filter(pk=pk).update(refunded_amount=F("refunded_amount") - part)


def _start_refund_after_commit(refund: Refund) -> None:
    if refund.state == RefundState.PENDING and not refund.provider_ref:
        # Robust: with the broker (Redis) down the kick is lost, not the request; resend_unsent_refunds sends it.
        kicks.kick_after_commit("orders.tasks.start_refund", refund.pk)


def send_refund_to_provider(refund_id: int) -> None:
    """Called by the worker: hands the refund to the provider (outside any order lock).

    Providers that decide a refund at once (Alipay) are asked for the outcome right away; the others
    notify, and the recovery job asks those that stay silent (orders.reconciliation).
    """
    refund = Refund.objects.select_related("payment__account").get(pk=refund_id)
    if refund.provider_ref:
        return
    account = refund.payment.account
    provider = get_provider(refund.payment.provider, account=account)
    # Each try and its failure are recorded on their own (autocommit), so the jobs and order pages show
    # a refund its provider keeps refusing; the caller retries (the task, then the recovery job).
    Refund.objects.filter(pk=refund.pk).update(send_attempts=F("send_attempts") + 1, last_send_at=timezone.now())
    try:
        ref = provider.start_refund(refund=refund, notify_url=notify_url(provider.name, account))
    except Exception as exc:
        Refund.objects.filter(pk=refund.pk).update(send_error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    Refund.objects.filter(pk=refund.pk, provider_ref="").update(provider_ref=ref or refund.key, send_error="")
    if account is not None:
        outcome = provider.query_refund(refund=refund)
        if outcome is not None:
            process_notification(outcome)


# --- Payments ---------------------------------------------------------------------------------------


def notify_url(provider_name: str, account=None) -> str:
    """Where the provider posts its notifications: the public SITE_URL, with the merchant account whose
    keys verify them. The simulated provider posts from our own worker: to INTERNAL_CALLBACK_URL when set
    (docker-compose: the web service), so the worker never posts a callback to itself."""
    if account is None:
        base = (
            (settings.INTERNAL_CALLBACK_URL or settings.SITE_URL) if provider_name == "simulated" else settings.SITE_URL
        )
        return base + reverse("orders:provider_notify", args=[provider_name])
    return settings.SITE_URL + reverse("orders:account_notify", args=[provider_name, account.pk])


def start_payment(
    *, order: Order, method: str = "", client: str = "", openid: str = "", client_ip: str = ""
) -> tuple[Payment, str]:
    """Create a payment for an unpaid order and return where the member goes to pay.

    `method` ("wechatpay:jsapi", "alipay:wap"…) is one of the shop's methods for the member's client
    (orders.payments.methods); empty: the first one. Re-uses the order's open payment of the same
    method, so a member pressing "pay" twice is not charged twice. The provider is called after commit.
    """
    chosen = _choose_method(order=order, method=method, client=client, openid=openid)
    provider = get_provider(chosen.provider, account=chosen.account)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.state != OrderState.PENDING_PAYMENT:
            raise TransitionRefused(_("订单当前为「%(state)s」，无需付款。") % {"state": order.get_state_display()})
        if order.pay_deadline <= timezone.now():
            raise TransitionRefused(_("订单已超过付款时限。"))
        payment = order.payments.filter(
            state=PaymentState.CREATED, provider=provider.name, channel__in=[chosen.channel, ""]
        ).first()
        if payment is None:
            payment = Payment.objects.create(
                order=order,
                provider=provider.name,
                provider_ref=provider.new_reference(),
                account=chosen.account,
                channel=chosen.channel,
                amount=order.total,
                currency=order.currency,
                client_params={"openid": openid, "client_ip": client_ip} if chosen.account else {},
            )
        elif payment.client_params.get("url"):
            return payment, payment.client_params["url"]  # already registered with the provider
    try:
        started = provider.start_payment(payment=payment, notify_url=notify_url(provider.name, chosen.account))
    except ProviderError as exc:
        logger.warning("payment %s could not start: %s", payment.provider_ref, exc)
        raise ValidationError(_("支付渠道暂时无法下单，请稍后再试或换一种支付方式。")) from exc
    if isinstance(started, str):
        return payment, started
    payment.client_params = {**payment.client_params, **started.client_params, "url": started.url}
    Payment.objects.filter(pk=payment.pk).update(client_params=payment.client_params)
    return payment, started.url


def _choose_method(*, order: Order, method: str, client: str, openid: str):
    from .payments.methods import DESKTOP, available_methods

    methods = available_methods(shop=order.shop, client=client or DESKTOP, openid=openid)
    for candidate in methods:
        if not method or candidate.key == method:
            return candidate
    if method and not methods:
        raise ValidationError(_("本店暂未开通在线支付。"))
    if method:
        raise ValidationError(_("这种支付方式在当前环境不可用，请换一种。"))
    raise ValidationError(_("本店暂未开通在线支付。"))


def process_notification(notification: Notification) -> str:
    """Apply one verified provider notification, exactly once. Returns what happened, for the log.

    Amount or currency that differ from ours are refused (ValidationError) and change nothing.
    """
    with transaction.atomic(), locks.hot_rows_last():
        try:
            with transaction.atomic():
                ProviderNotification.objects.create(
                    provider=notification.provider,
                    notification_id=notification.notification_id,
                    kind=notification.kind,
                    provider_ref=notification.provider_ref,
                    payload=notification.raw,
                )
        except IntegrityError:
            return "duplicate"
        if notification.kind == "payment":
            return _apply_payment(notification)
        if notification.kind == "refund":
            return _apply_refund(notification)
        raise ValidationError(f"unknown notification kind {notification.kind!r}")


def _verify_money(notification: Notification, amount: Decimal, currency: str) -> None:
    if notification.amount != amount or notification.currency != currency:
        raise ValidationError(
            f"amount/currency mismatch: notified {notification.amount} {notification.currency}, "
            f"expected {amount} {currency}"
        )


def _apply_payment(notification: Notification) -> str:
    payment = (
        Payment.objects.select_for_update()
        .filter(provider=notification.provider, provider_ref=notification.provider_ref)
        .first()
    )
    if payment is None:
        raise ValidationError(f"unknown payment {notification.provider_ref}")
    _verify_money(notification, payment.amount, payment.currency)
    if payment.state != PaymentState.CREATED:
        return "already-settled"
    if not notification.succeeded:
        payment.state = PaymentState.FAILED
        payment.save(update_fields=["state"])
        return "payment-failed"
    now = timezone.now()
    payment.state, payment.succeeded_at = PaymentState.SUCCEEDED, now
    payment.provider_txn_id = notification.provider_txn_id or payment.provider_txn_id
    payment.save(update_fields=["state", "succeeded_at", "provider_txn_id"])
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    Order.objects.filter(pk=order.pk).update(paid_amount=F("paid_amount") + payment.amount)
    order.paid_amount += payment.amount
    if (
        order.state == OrderState.PENDING_PAYMENT
        and not order.payments.filter(state=PaymentState.SUCCEEDED).exclude(pk=payment.pk).exists()
    ):
        transition_order(order=order, to_state=OrderState.PAID, by=None, reason=_("支付成功"), paid_at=now)
        hooks.order_paid.run(order)
        return "paid"
    # Paid too late (order cancelled) or paid twice: the money goes straight back.
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        key=f"late-payment:{payment.provider_ref}",
        amount=payment.amount,
        reason=_("订单已取消或已付款，自动退回重复/逾期付款"),
    )
    _start_refund_after_commit(refund)
    return "refunding-late-payment"


def _apply_refund(notification: Notification) -> str:
    refund = Refund.objects.select_for_update().filter(key=notification.provider_ref).first()
    if refund is None:
        raise ValidationError(f"unknown refund {notification.provider_ref}")
    _verify_money(notification, refund.amount, refund.payment.currency)
    if refund.state != RefundState.PENDING:
        return "already-settled"
    if not notification.succeeded:
        refund.state = RefundState.FAILED
        refund.save(update_fields=["state"])
        _give_back_refund_lines(refund)
        return "refund-failed"
    refund.state, refund.succeeded_at = RefundState.SUCCEEDED, timezone.now()
    refund.save(update_fields=["state", "succeeded_at"])
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    # Every refund counts, a returned duplicate or late payment too: refunded_amount is money returned.
    Order.objects.filter(pk=order.pk).update(refunded_amount=F("refunded_amount") + refund.amount)
    order.refunded_amount += refund.amount
    refund.order = order
    hooks.order_refund_succeeded.run(refund)  # e.g. points back in proportion
    # A refund request ends when all the member paid is back (a duplicate payment's refund included).
    if order.state == OrderState.REFUND_REQUESTED and order.refunded_amount == order.paid_amount:
        transition_order(order=order, to_state=OrderState.REFUNDED, by=None, reason=_("退款成功"))
        _return_stock_once(order)
        hooks.order_refunded.run(order)
    return "late-payment-refunded" if refund.key.startswith("late-payment:") else "refunded"


# --- After-sales -----------------------------------------------------------------------------------

MAX_CASE_PHOTOS = 6


def open_case(*, order: Order, member: User, reason: str, photos=()) -> AfterSalesCase:
    """Open an after-sales case; photos are stored through shequn.images (real images only), at most MAX_CASE_PHOTOS."""
    if order.member_id != member.pk:
        raise ValidationError(_("只能为自己的订单申请售后。"))
    if order.state in (OrderState.PENDING_PAYMENT, OrderState.CANCELLED):
        raise ValidationError(_("未付款的订单无需售后，可直接取消。"))
    if not reason.strip():
        raise ValidationError({"reason": _("请描述遇到的问题。")})
    photos = list(photos)
    if len(photos) > MAX_CASE_PHOTOS:
        raise ValidationError({"photos": _("最多上传 %(n)d 张照片。") % {"n": MAX_CASE_PHOTOS}})
    try:
        photos = [images.clean_image(photo, bounds=images.PHOTO) for photo in photos]
    except ValidationError as error:
        raise ValidationError({"photos": error.messages}) from None
    try:
        with transaction.atomic():
            case = AfterSalesCase.objects.create(order=order, shop_id=order.shop_id, member=member, reason=reason)
            for photo in photos:
                CasePhoto.objects.create(case=case, image=photo)
    except IntegrityError:
        raise ValidationError(_("这个订单已有处理中的售后。")) from None
    return case


@transaction.atomic
def close_case(*, case: AfterSalesCase, by: User, resolution: str, resolved: bool = True) -> AfterSalesCase:
    if not resolution.strip():
        raise ValidationError({"resolution": _("请填写处理结果。")})
    updated = AfterSalesCase.objects.filter(pk=case.pk, state=CaseState.OPEN).update(
        state=CaseState.RESOLVED if resolved else CaseState.REJECTED,
        resolution=resolution,
        resolved_by=by,
        closed_at=timezone.now(),
    )
    if updated != 1:
        raise ValidationError(_("该售后已处理。"))
    case.refresh_from_db()
    audit.record(
        shop=case.shop_id,
        by=by,
        action="order.case.close",
        target=case,
        before={"state": CaseState.OPEN},
        after={"state": case.state, "resolution": resolution},
        label=f"#{case.pk}",
    )
    return case


def do_not_market(*, member: User, shop_id: int) -> bool:
    """True while the member has an open after-sales case in the shop: no marketing reaches them till it closes."""
    return AfterSalesCase.objects.filter(member=member, shop_id=shop_id, state=CaseState.OPEN).exists()


def do_not_market_among(*, members, shop_id: int) -> set[int]:
    """Of the member ids, those with an open after-sales case in the shop (one query: do_not_market in bulk)."""
    return set(
        AfterSalesCase.objects.filter(
            member_id__in=RawSQL("SELECT unnest(%s::bigint[])", [list(members)]), shop_id=shop_id, state=CaseState.OPEN
        )
        .values_list("member_id", flat=True)
        .distinct()
    )


def reconcile(order: Order) -> dict:
    """The order's money, summed from its parts; every figure must agree to the fen."""
    lines = order.lines.aggregate(s=Sum("line_total"))["s"] or ZERO
    if order.delivery == Delivery.NONE:  # a paid group entry (orders.entry): the fee is its one line
        lines = order.subtotal
    paid = order.payments.filter(state=PaymentState.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or ZERO
    refunded = order.refunds.filter(state=RefundState.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or ZERO
    kept = order.paid_amount - order.refunded_amount
    return {
        "lines": lines,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "total": order.total,
        "paid": paid,
        "refunded": refunded,
        "kept": kept,
        "balanced": lines == order.subtotal and (paid, refunded) == (order.paid_amount, order.refunded_amount),
    }
