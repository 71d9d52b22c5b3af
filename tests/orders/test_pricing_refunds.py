"""Refunds of priced orders (orders.services, orders.pricing): every refund is split over the order's lines
by what is still refundable on each, to the fen, so no line is ever refunded beyond what was paid for it.

The property test places real orders (PostgreSQL, the real pricing step and refund services) with any
adjustments and runs any sequence of partial refunds, some of which succeed, fail or stay pending."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import AdjustmentKind, OrderLine, OrderState, RefundLine, RefundState
from orders.payments import Notification
from orders.pricing import Adjustment
from orders.services import (
    LineRequest,
    approve_refund,
    place_or_find_order,
    process_notification,
    refund_part,
    refundable,
    request_refund,
    start_payment,
)
from shequn import hooks
from tests.builders.orders import SHIPPING
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")
TEST_PRIORITY = 990


class Rollback(Exception):
    """Ends one example: everything it wrote is rolled back."""


def _notify(kind: str, ref: str, amount: Decimal, succeeded: bool = True) -> None:
    process_notification(
        Notification(
            provider="simulated",
            notification_id=uuid.uuid4().hex,
            kind=kind,
            provider_ref=ref,
            succeeded=succeeded,
            amount=amount,
            currency="CNY",
            raw={},
        )
    )


def _paid_order(member, group, shop, line_specs, adjustments):
    skus = [SkuFactory(product__shop=shop, price=Decimal(price) * CENT, stock=1000) for price, _qty in line_specs]

    def receiver(draft):
        made = []
        for kind, fen, line_index in adjustments:
            sku_id = skus[line_index % len(skus)].pk if line_index is not None else None
            made.append(Adjustment(kind, f"test:{len(made)}", Decimal(fen) * CENT, "测试", sku_id=sku_id))
        return made

    hooks.order_pricing.connect(receiver, priority=TEST_PRIORITY)
    try:
        order = place_or_find_order(
            member=member,
            group=group,
            lines=[LineRequest(sku.pk, qty) for sku, (_price, qty) in zip(skus, line_specs, strict=True)],
            delivery=SHIPPING,
            idempotency_key=uuid.uuid4().hex,
        ).order
    finally:
        hooks.order_pricing.disconnect(receiver)
    if order.state == OrderState.PENDING_PAYMENT:
        payment, _url = start_payment(order=order)
        _notify("payment", payment.provider_ref, payment.amount)
    order.refresh_from_db()
    return order


def _assert_books_hold(order) -> None:
    order.refresh_from_db()
    lines = list(order.lines.all())
    adjustments = list(order.adjustments.all())
    # The price adds up to the fen: lines, adjustments, their split.
    assert order.total == order.subtotal + sum((a.amount for a in adjustments), start=Decimal(0))
    assert sum(line.amount_paid for line in lines) == order.total
    for adjustment in adjustments:
        assert sum(Decimal(part) for part in adjustment.shares.values()) == adjustment.amount
    # Refunds: within what was paid, per line and in all; each line's counter is its live parts.
    live = order.refunds.exclude(state=RefundState.FAILED)
    for line in lines:
        assert 0 <= line.refunded_amount <= line.amount_paid
        parts = RefundLine.objects.filter(line=line, refund__in=live).aggregate(s=Sum("amount"))["s"] or 0
        assert line.refunded_amount == parts
    for refund in live:
        assert refund.line_parts.aggregate(s=Sum("amount"))["s"] == refund.amount
    assert (live.aggregate(s=Sum("amount"))["s"] or 0) <= order.paid_amount == order.total
    assert 0 <= order.refunded_amount <= order.paid_amount


line_specs = st.lists(
    st.tuples(st.integers(min_value=1, max_value=50_000), st.integers(min_value=1, max_value=4)), min_size=1, max_size=4
)
adjustment_specs = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from([AdjustmentKind.COUPON, AdjustmentKind.POINTS, AdjustmentKind.GIFT]),
            st.integers(min_value=-60_000, max_value=-1),
            st.one_of(st.none(), st.integers(0, 3)),
        ),
        st.tuples(st.just(AdjustmentKind.SHIPPING), st.integers(min_value=1, max_value=3_000), st.none()),
    ),
    max_size=4,
)
refund_specs = st.lists(
    st.tuples(st.integers(min_value=1, max_value=80_000), st.sampled_from(["succeed", "fail", "pending"])),
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=line_specs, adjustments=adjustment_specs, refunds=refund_specs)
def test_any_partial_refunds_of_any_priced_order_stay_within_what_each_line_paid(
    buyer, buyer_group, shop, lines, adjustments, refunds
):
    try:
        with transaction.atomic():
            try:
                order = _paid_order(buyer, buyer_group, shop, lines, adjustments)
            except ValidationError as refused:  # discounts beyond the price: refused, nothing written
                assert refused.error_list[0].code == "over_discount"
                assert not buyer.orders.exists()
                raise Rollback from None
            assert order.state == OrderState.PAID
            _assert_books_hold(order)
            for step, (fen, outcome) in enumerate(refunds):
                amount = Decimal(fen) * CENT
                if amount > refundable(order):
                    with pytest.raises(ValidationError):
                        refund_part(order=order, amount=amount, key=f"t:{order.pk}:{step}", reason="部分退款")
                    continue
                refund = refund_part(order=order, amount=amount, key=f"t:{order.pk}:{step}", reason="部分退款")
                if outcome != "pending":
                    _notify("refund", refund.key, refund.amount, succeeded=outcome == "succeed")
                _assert_books_hold(order)
            # Then the rest, in full: every line ends refunded exactly what was paid for it.
            pending = order.refunds.filter(state=RefundState.PENDING)
            for refund in pending:
                _notify("refund", refund.key, refund.amount)
            request_refund(order=order, by=buyer, reason="全部退款")
            full = approve_refund(order=order, by=None)
            if full is not None:
                _notify("refund", full.key, full.amount)
            _assert_books_hold(order)
            order.refresh_from_db()
            assert order.state == OrderState.REFUNDED and order.refunded_amount == order.paid_amount
            assert all(line.refunded_amount == line.amount_paid for line in OrderLine.objects.filter(order=order))
            raise Rollback
    except Rollback:
        pass


def test_a_partial_refund_of_a_discounted_order_splits_the_discount_back(buyer, buyer_group, shop):
    # 10.00 + 30.00, a 4.00 coupon spread (1.00 / 3.00): paid 9.00 and 27.00.
    order = _paid_order(buyer, buyer_group, shop, [(1000, 1), (3000, 1)], [(AdjustmentKind.COUPON, -400, None)])
    line_a, line_b = order.lines.order_by("line_total")
    assert (line_a.amount_paid, line_b.amount_paid) == (Decimal("9.00"), Decimal("27.00"))

    refund = refund_part(order=order, amount=Decimal("10.00"), key="差价", reason="差价")

    parts = dict(refund.line_parts.values_list("line_id", "amount"))
    assert parts == {line_a.pk: Decimal("2.50"), line_b.pk: Decimal("7.50")}
    _notify("refund", refund.key, refund.amount, succeeded=False)  # a failed refund gives its parts back
    line_a.refresh_from_db()
    assert line_a.refunded_amount == 0 and refundable(order) == Decimal("36.00")


def test_a_free_order_is_refunded_with_no_money_moving(buyer, buyer_group, shop):
    order = _paid_order(buyer, buyer_group, shop, [(500, 2)], [(AdjustmentKind.GIFT, -1000, None)])
    assert order.state == OrderState.PAID and order.paid_amount == 0 and not order.payments.exists()
    refunded = []
    hooks.order_refunded.connect(refunded.append, priority=TEST_PRIORITY)
    try:
        request_refund(order=order, by=buyer, reason="不要了")
        assert approve_refund(order=order, by=None) is None
    finally:
        hooks.order_refunded.disconnect(refunded.append)
    order.refresh_from_db()
    assert order.state == OrderState.REFUNDED and not order.refunds.exists() and refunded == [order]
    assert order.stock_returned_at is not None


# --- The operator's partial refund (dashboard) -----------------------------------------------------------


def test_an_operator_refunds_part_of_a_discounted_order_once_per_page(buyer, buyer_group, shop, operator):
    from django.urls import reverse

    from shops.models import AuditEntry
    from tests.orders.dashboard_support import client_for, messages_of

    order = _paid_order(buyer, buyer_group, shop, [(1000, 1), (3000, 1)], [(AdjustmentKind.COUPON, -400, None)])
    client = client_for(operator)
    page = client.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert reverse("dashboard:order_refund_part", args=[order.pk]) in page and "优惠券 · 测试" in page
    form = {"amount": "10.00", "reason": "少发一件", "key": "page-1"}

    first = client.post(reverse("dashboard:order_refund_part", args=[order.pk]), form, follow=True)
    client.post(reverse("dashboard:order_refund_part", args=[order.pk]), form, follow=True)  # pressed twice

    assert ("success", "已发起部分退款，支付渠道确认后到账。") in messages_of(first)
    refund = order.refunds.get()
    assert (refund.amount, refund.key, refund.reason) == (Decimal("10.00"), f"order:{order.pk}:part:page-1", "少发一件")
    assert sorted(refund.line_parts.values_list("amount", flat=True)) == [Decimal("2.50"), Decimal("7.50")]
    entry = AuditEntry.objects.get(action="order.refund.part")
    assert (entry.actor, entry.target_id) == (operator, order.pk)
    order.refresh_from_db()
    assert order.state == OrderState.PAID


def test_an_operator_cannot_refund_more_than_is_left(buyer, buyer_group, shop, operator):
    from django.urls import reverse

    from tests.orders.dashboard_support import client_for

    order = _paid_order(buyer, buyer_group, shop, [(1000, 1)], [])
    response = client_for(operator).post(
        reverse("dashboard:order_refund_part", args=[order.pk]), {"amount": "10.01", "reason": "多退", "key": "k"}
    )
    assert response.status_code == 200 and "退款金额超出可退金额。" in response.content.decode()
    assert not order.refunds.exists()


# --- The database: adjustments add up (checked at COMMIT) ------------------------------------------------


def test_the_database_refuses_adjustments_that_do_not_add_up(buyer, buyer_group, shop):
    from django.db import IntegrityError, connection

    from orders.models import Order, OrderAdjustment

    order = _paid_order(buyer, buyer_group, shop, [(1000, 1)], [(AdjustmentKind.COUPON, -100, None)])
    adjustment = order.adjustments.get()
    with pytest.raises(IntegrityError, match="order_adjustments_add_up|do not add up"), transaction.atomic():
        OrderAdjustment.objects.filter(pk=adjustment.pk).update(amount=Decimal("-2.00"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would check
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(order=order).update(adjustment_amount=Decimal("-0.50"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(discount=Decimal("2.00"), total=Decimal("8.00"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # The control: the rows as pricing wrote them pass the same check.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
