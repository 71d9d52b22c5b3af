"""Paid group entry (入群费): an entry order, paid through the shop's providers like any other order.

- `PaidEntryCheckout` answers the paid_entry_checkout hook (shequn.hooks): it places (or finds) the
  member's open entry order for the group and sends them to pay it.
- `EntryOrders` answers the order hooks (shequn.hooks): when the entry order is paid, in the same
  transaction, it asks groups to admit the member (groups.services.admit_paid_member); if the group filled
  or closed meanwhile, the link ran out, or the member was already in, the fee is refunded at once (the
  refund is sent to the provider after commit).

Guarantees: one open entry order per member and group however often they tap (the idempotency key is
unique per member); never more members than seats (groups decides the seat by a conditional UPDATE);
every paid fee ends as a seat or a refund, and stays in the ledger as an order with its payment.
"""

import hashlib
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Group, InviteLink
from groups.services import JoinRefused, admit_paid_member
from shequn import hooks

from .models import Delivery, Order, OrderState, OrderTransition
from .services import _new_order_number, approve_refund, request_refund

SOURCE_PREFIX = "entry:"


def entry_source(group: Group, link: InviteLink | None) -> str:
    return f"{SOURCE_PREFIX}{group.pk}:{link.pk if link else 0}"


def parse_source(source: str) -> tuple[int, int | None] | None:
    if not source.startswith(SOURCE_PREFIX):
        return None
    group_id, _sep, link_id = source[len(SOURCE_PREFIX) :].partition(":")
    return int(group_id), (int(link_id) or None) if link_id else None


def place_entry_order(*, member: User, group: Group, link: InviteLink | None) -> Order:
    """The member's open entry order for the group, placed if there is none (a second tap finds it)."""
    prefix = f"{SOURCE_PREFIX}{group.pk}:"
    now = timezone.now()
    open_order = Order.objects.filter(
        member=member, source__startswith=prefix, state=OrderState.PENDING_PAYMENT, pay_deadline__gt=now
    ).first()
    if open_order is not None:
        return open_order
    # One key per attempt: two simultaneous taps compute the same key and the unique constraint keeps one.
    attempt = Order.objects.filter(member=member, source__startswith=prefix).count()
    key = f"entry:{group.pk}:{attempt}"
    try:
        with transaction.atomic():
            order = Order(
                shop_id=group.shop_id,
                group=group,
                member=member,
                number=_new_order_number(),
                state=OrderState.PENDING_PAYMENT,
                source=entry_source(group, link),
                subtotal=group.entry_price,
                total=group.entry_price,
                delivery=Delivery.NONE,
                idempotency_key=key,
                request_fingerprint=hashlib.sha256(key.encode()).hexdigest(),
                created_at=now,
                pay_deadline=now + timedelta(minutes=group.shop.settings.payment_timeout_minutes),
            )
            hooks.order_placing.run(order)  # referrals fills in the referrer
            order.save(force_insert=True)
            OrderTransition.objects.create(
                order=order, from_state="", to_state=OrderState.PENDING_PAYMENT, by=member, reason=_("入群费")
            )
            hooks.order_created.run(order)
    except IntegrityError:
        return Order.objects.get(member=member, idempotency_key=key)
    return order


class PaidEntryCheckout:
    """The paid_entry_checkout hook's answer: the entry fee is an order the member pays on the order page."""

    def checkout(self, *, user, group, link) -> str:
        order = place_entry_order(member=user, group=group, link=link)
        return reverse("orders:member_order", args=[order.pk])


class EntryOrders:
    """Receivers of the order hooks for entry orders: a paid one becomes a seat, or a refund; none is shipped."""

    def before_ship(self, order: Order) -> None:
        if parse_source(order.source) is not None:
            raise ValidationError(_("入群费订单无需发货。"))

    def after_paid(self, order: Order) -> None:
        parsed = parse_source(order.source)
        if parsed is None:
            return
        group_id, link_id = parsed
        try:
            admit_paid_member(user=order.member, group_id=group_id, link_id=link_id)
        except JoinRefused as refused:
            reason = _("入群未成功（%(why)s），入群费原路退回") % {"why": refused.message}
            request_refund(order=order, by=None, reason=reason)
            approve_refund(order=order, by=None, reason=reason)
