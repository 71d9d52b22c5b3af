"""The order's one pricing step (orders.pricing): plug-ins answer order_pricing with adjustments, the order
core checks them, splits them over the lines to the fen, writes them with the order, and an order priced
to 0 is paid at once with no payment."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from orders.models import AdjustmentKind, Order, OrderAdjustment, OrderLine, OrderState, Payment, Sku
from orders.pricing import Adjustment, PricedLine, PricingDraft, price_draft, split_by_fen
from orders.services import IdempotencyConflict, LineRequest, place_or_find_order, quote_order
from shequn import hooks
from tests.builders.orders import SHIPPING
from tests.factories import SkuFactory

TEST_PRIORITY = 990  # above every real receiver, so a test's receiver answers last


@pytest.fixture
def answer():
    """Connect a test receiver of order_pricing that answers what the test says, and records what it saw."""
    seen: list[PricingDraft] = []
    answers: list = []

    def receiver(draft):
        seen.append(draft)
        if answers and isinstance(answers[0], Exception):
            raise answers[0]
        return list(answers)

    hooks.order_pricing.connect(receiver, priority=TEST_PRIORITY)
    yield answers, seen
    hooks.order_pricing.disconnect(receiver)


def _draft(*line_specs, **kwargs) -> PricingDraft:
    lines = [PricedLine(sku_id, 1, Decimal(price), qty) for sku_id, price, qty in line_specs]
    return PricingDraft(member=None, group=None, lines=lines, **kwargs)


# --- The split, to the fen --------------------------------------------------------------------------------


def test_a_discount_spread_over_lines_goes_to_the_largest_remainders():
    # 100 fen over 10.00 and 20.00: 33.33 and 66.67 → 33 and 66, the fen left over to the larger remainder.
    assert split_by_fen(Decimal("-1.00"), [(1, Decimal("10.00")), (2, Decimal("20.00"))]) == {
        1: Decimal("-0.33"),
        2: Decimal("-0.67"),
    }


def test_equal_remainders_go_to_the_lowest_key_whatever_order_the_weights_come_in():
    weights = [(3, Decimal("1.00")), (1, Decimal("1.00")), (2, Decimal("1.00"))]
    assert split_by_fen(Decimal("0.02"), weights) == {1: Decimal("0.01"), 2: Decimal("0.01"), 3: Decimal("0.00")}


@given(
    amount_fen=st.integers(min_value=-(10**7), max_value=10**7),
    weights_fen=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8),
)
def test_the_split_adds_up_to_the_fen_and_no_part_exceeds_its_weight(amount_fen, weights_fen):
    amount = Decimal(amount_fen) / 100
    weights = [(key, Decimal(w) / 100) for key, w in enumerate(weights_fen)]
    parts = split_by_fen(amount, weights)
    assert sum(parts.values()) == amount
    assert all(part == part.quantize(Decimal("0.01")) for part in parts.values())
    assert all((part <= 0) if amount < 0 else (part >= 0) for part in parts.values())
    if abs(amount) <= sum(w for _k, w in weights):
        assert all(abs(parts[key]) <= weight for key, weight in weights)


# --- The pricing function --------------------------------------------------------------------------------


def test_without_plug_ins_the_price_is_the_lines_at_their_unit_price(answer):
    priced = price_draft(_draft((1, "9.90", 3), (2, "5.00", 1)))
    assert (priced.subtotal, priced.discount, priced.charges, priced.total) == (
        Decimal("34.70"),
        0,
        0,
        Decimal("34.70"),
    )
    assert priced.adjustments == []


def test_adjustments_are_split_over_lines_and_the_total_adds_up(answer):
    answers, _seen = answer
    answers += [
        Adjustment(AdjustmentKind.COUPON, "test:1", Decimal("-1.00"), "满 20 减 1"),
        Adjustment(AdjustmentKind.SHIPPING, "shipping", Decimal("6.00"), "运费", sku_id=2),
    ]
    priced = price_draft(_draft((1, "10.00", 1), (2, "20.00", 1)))
    assert priced.discount == Decimal("1.00") and priced.charges == Decimal("6.00")
    assert priced.total == Decimal("35.00") == priced.subtotal + sum(a.amount for a in priced.adjustments)
    assert priced.shares == [{1: Decimal("-0.33"), 2: Decimal("-0.67")}, {2: Decimal("6.00")}]
    assert priced.line_adjustment == {1: Decimal("-0.33"), 2: Decimal("5.33")}


def test_a_later_receiver_sees_what_the_earlier_ones_took_off(answer):
    answers, seen = answer
    earlier = Adjustment(AdjustmentKind.COUPON, "test:1", Decimal("-4.00"), "券")

    def coupon(draft):
        return [earlier]

    hooks.order_pricing.connect(coupon, priority=TEST_PRIORITY - 1)
    try:
        price_draft(_draft((1, "10.00", 1)))
    finally:
        hooks.order_pricing.disconnect(coupon)
    assert seen[0].adjustments == [earlier] and seen[0].total == Decimal("6.00")


def test_a_discount_beyond_the_price_is_refused(answer):
    answers, _seen = answer
    answers.append(Adjustment(AdjustmentKind.POINTS, "points", Decimal("-10.01"), "积分"))
    with pytest.raises(ValidationError) as refused:
        price_draft(_draft((1, "10.00", 1)))
    assert refused.value.code == "over_discount"


def test_a_discount_on_one_line_beyond_that_line_is_refused(answer):
    answers, _seen = answer
    answers.append(Adjustment(AdjustmentKind.COUPON, "test:2", Decimal("-6.00"), "单品券", sku_id=1))
    with pytest.raises(ValidationError):
        price_draft(_draft((1, "5.00", 1), (2, "50.00", 1)))


@pytest.mark.parametrize(
    "bad",
    [
        Adjustment("voucher", "x", Decimal("-1.00"), "unknown kind"),
        Adjustment(AdjustmentKind.COUPON, "x", Decimal("-0.001"), "not whole fen"),
        Adjustment(AdjustmentKind.COUPON, "x", Decimal("0"), "zero"),
        Adjustment(AdjustmentKind.COUPON, "", Decimal("-1"), "no source"),
        Adjustment(AdjustmentKind.COUPON, "x", Decimal("-1"), "not a line", sku_id=99),
    ],
)
def test_an_answer_that_breaks_the_contract_is_a_programming_error(answer, bad):
    answers, _seen = answer
    answers.append(bad)
    with pytest.raises(TypeError):
        price_draft(_draft((1, "10.00", 1)))


# --- Placing an order through it -------------------------------------------------------------------------


def _place(buyer, group, skus, key="k1", **kwargs):
    return place_or_find_order(
        member=buyer,
        group=group,
        lines=[LineRequest(sku.pk, qty) for sku, qty in skus],
        delivery=SHIPPING,
        idempotency_key=key,
        **kwargs,
    )


@pytest.mark.django_db
def test_placing_writes_the_adjustments_before_order_created_runs(answer, buyer, buyer_group, shop):
    answers, seen = answer
    a, b = (
        SkuFactory(product__shop=shop, price=Decimal("10.00")),
        SkuFactory(product__shop=shop, price=Decimal("20.00")),
    )
    answers.append(Adjustment(AdjustmentKind.COUPON, "test:7", Decimal("-3.00"), "满 30 减 3"))
    found_at_created = []

    def created(order):
        found_at_created.append(list(order.adjustments.filter(source="test:7").values_list("amount", flat=True)))

    hooks.order_created.connect(created, priority=TEST_PRIORITY)
    try:
        order = _place(buyer, buyer_group, [(a, 1), (b, 1)], choices={"test": "7"}).order
    finally:
        hooks.order_created.disconnect(created)

    assert found_at_created == [[Decimal("-3.00")]]
    assert seen[-1].quote_only is False and seen[-1].choices == {"test": "7"}
    order.refresh_from_db()
    assert (order.subtotal, order.discount, order.charges, order.total) == (
        Decimal("30.00"),
        Decimal("3.00"),
        0,
        Decimal("27.00"),
    )
    lines = {line.sku_id: line for line in order.lines.all()}
    assert (lines[a.pk].amount_paid, lines[b.pk].amount_paid) == (Decimal("9.00"), Decimal("18.00"))
    row = order.adjustments.get()
    assert (row.kind, row.reason, row.shares) == (
        AdjustmentKind.COUPON,
        "满 30 减 3",
        {str(a.pk): "-1.00", str(b.pk): "-2.00"},
    )


@pytest.mark.django_db
def test_a_quote_asks_with_quote_only_and_writes_nothing(answer, buyer, buyer_group, sku):
    answers, seen = answer
    answers.append(Adjustment(AdjustmentKind.POINTS, "points", Decimal("-1.00"), "积分"))
    priced = quote_order(member=buyer, group=buyer_group, lines=[LineRequest(sku.pk, 2)], choices={"test": "100"})
    assert seen[-1].quote_only is True and priced.total == sku.price * 2 - 1
    assert not Order.objects.exists() and not OrderAdjustment.objects.exists()


@pytest.mark.django_db
def test_a_receiver_refusing_leaves_no_order_and_no_stock_taken(answer, buyer, buyer_group, sku):
    answers, _seen = answer
    answers.append(ValidationError("这张券不能用于本单。"))
    stock = sku.stock
    with pytest.raises(ValidationError) as refused:
        _place(buyer, buyer_group, [(sku, 1)], choices={"test": "1"})
    assert refused.value.messages == ["这张券不能用于本单。"]
    assert not Order.objects.exists() and Sku.objects.get(pk=sku.pk).stock == stock


@pytest.mark.django_db
def test_choices_are_part_of_the_idempotency_fingerprint(answer, buyer, buyer_group, sku):
    first = _place(buyer, buyer_group, [(sku, 1)], choices={"test": "100"})
    again = _place(buyer, buyer_group, [(sku, 1)], choices={"test": "100"})
    assert first.created and not again.created and again.order == first.order
    with pytest.raises(IdempotencyConflict):
        _place(buyer, buyer_group, [(sku, 1)], choices={"test": "200"})


@pytest.mark.django_db
def test_an_order_priced_to_zero_is_paid_at_once_with_no_payment(answer, buyer, buyer_group, sku):
    answers, _seen = answer
    answers.append(Adjustment(AdjustmentKind.GIFT, "test:5", -sku.price, "好友赠送"))
    paid_hook = []
    hooks.order_paid.connect(paid_hook.append, priority=TEST_PRIORITY)
    try:
        order = _place(buyer, buyer_group, [(sku, 1)]).order
    finally:
        hooks.order_paid.disconnect(paid_hook.append)
    order.refresh_from_db()
    assert (order.state, order.total, order.paid_amount) == (OrderState.PAID, 0, 0)
    assert order.paid_at is not None and paid_hook == [order]
    assert not Payment.objects.filter(order=order).exists()
    assert list(order.transitions.values_list("to_state", flat=True)) == [OrderState.PENDING_PAYMENT, OrderState.PAID]


@pytest.mark.django_db
def test_an_ordinary_order_still_waits_for_payment(answer, buyer, buyer_group, sku):
    order = _place(buyer, buyer_group, [(sku, 1)]).order
    assert order.state == OrderState.PENDING_PAYMENT and order.total == sku.price


# --- The database's constraints --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_total_that_does_not_add_up(buyer, buyer_group, sku):
    order = _place(buyer, buyer_group, [(sku, 1)]).order
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(charges=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(discount=order.subtotal + 1, total=-1)


@pytest.mark.django_db
def test_the_database_refuses_a_line_paid_below_zero_or_refunded_beyond_it(buyer, buyer_group, sku):
    order = _place(buyer, buyer_group, [(sku, 1)]).order
    line = order.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(adjustment_amount=-line.line_total - Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(refunded_amount=line.line_total + Decimal("0.01"))
