"""An order's paid_amount and refunded_amount are its succeeded payments and refunds, at every moment.

refunded_amount means money actually returned to the member: the sum of the order's refunds in state
succeeded, a returned duplicate or late payment included. The property test drives random sequences of
payments (succeeded, failed, duplicate notifications, a second cashier tab, landing after the order
was cancelled), cancels, full and partial refunds and refund outcomes through the services, and checks
the figures after every step; the reconciliation check (job and page) lists any order that drifts.
"""

import itertools
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F, Sum
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import services
from orders.models import Order, OrderState, Payment, PaymentState, Refund, RefundState
from orders.payments import Notification
from orders.reconciliation import order_ledger_mismatches
from orders.tasks import check_order_ledgers
from shequn.models import JobRun
from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, OperatorFactory, SkuFactory

pytestmark = pytest.mark.django_db
_ids = itertools.count()


def _notify(kind: str, ref: str, amount: Decimal, *, succeeded: bool, notification_id: str | None = None) -> str:
    return services.process_notification(
        Notification(
            provider="simulated",
            notification_id=notification_id or f"N{next(_ids)}",
            kind=kind,
            provider_ref=ref,
            succeeded=succeeded,
            amount=amount,
            currency="CNY",
            raw={},
        )
    )


def _open_payment(order: Order) -> None:
    """The member opens the cashier (again: a second tab or another way to pay is a second payment)."""
    if order.state == OrderState.PENDING_PAYMENT:
        Payment.objects.create(order=order, provider="simulated", provider_ref=uuid.uuid4().hex, amount=order.total)


def _settle_payment(order: Order, which: int, succeeded: bool, duplicate: bool) -> None:
    payments = list(order.payments.order_by("pk"))
    if payments:
        payment = payments[which % len(payments)]
        nid = f"N{next(_ids)}"
        for _ in range(2 if duplicate else 1):  # the same notification delivered twice
            _notify("payment", payment.provider_ref, payment.amount, succeeded=succeeded, notification_id=nid)


def _settle_refund(order: Order, which: int, succeeded: bool, duplicate: bool) -> None:
    refunds = list(order.refunds.order_by("pk"))
    if refunds:
        refund = refunds[which % len(refunds)]
        for _ in range(2 if duplicate else 1):  # re-sent under a new id: applied once all the same
            _notify("refund", refund.key, refund.amount, succeeded=succeeded)


def _refund_all(order: Order, buyer, operator) -> None:
    services.request_refund(order=order, by=buyer, reason="不想要了")
    services.approve_refund(order=order, by=operator)


def _refund_part(order: Order, fen: int) -> None:
    services.refund_part(order=order, amount=Decimal(fen) / 100, key=f"part:{next(_ids)}", reason="差价")


STEPS = st.one_of(
    st.tuples(st.just("open_payment")),
    st.tuples(st.just("settle_payment"), st.integers(0, 3), st.booleans(), st.booleans()),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("refund_all")),
    st.tuples(st.just("refund_part"), st.integers(1, 4000)),
    st.tuples(st.just("settle_refund"), st.integers(0, 3), st.booleans(), st.booleans()),
)


def _ledger(order: Order) -> tuple[Decimal, Decimal]:
    paid = order.payments.filter(state=PaymentState.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    refunded = order.refunds.filter(state=RefundState.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return paid, refunded


@pytest.fixture
def scene(shop):
    group = GroupFactory(shop=shop)
    return group, make_buyer(group), OperatorFactory(shop=shop).user, SkuFactory(product__shop=shop, stock=10**6)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=14), quantity=st.integers(1, 3))
def test_refunded_amount_is_the_sum_of_succeeded_refunds_after_every_step(scene, steps, quantity):
    group, buyer, operator, sku = scene
    order = order_for(buyer, group, sku, quantity=quantity)
    for step in steps:
        order.refresh_from_db()
        action, *args = step
        try:
            if action == "open_payment":
                _open_payment(order)
            elif action == "settle_payment":
                _settle_payment(order, *args)
            elif action == "cancel":
                services.cancel_order(order=order, by=buyer)
            elif action == "refund_all":
                _refund_all(order, buyer, operator)
            elif action == "refund_part":
                _refund_part(order, *args)
            else:
                _settle_refund(order, *args)
        except ValidationError:
            pass  # refused by the state machine or the refundable amount: a legitimate outcome
        order.refresh_from_db()
        paid, refunded = _ledger(order)
        assert (order.paid_amount, order.refunded_amount) == (paid, refunded), (step, order.state)
        assert Decimal(0) <= services.refundable(order) <= order.paid_amount - order.refunded_amount
        if order.state == OrderState.REFUNDED:
            assert order.refunded_amount == order.paid_amount
    assert not order_ledger_mismatches(shop_id=order.shop_id).filter(pk=order.pk).exists()


def test_a_duplicate_payment_returned_counts_as_refunded(scene):
    group, buyer, operator, sku = scene
    order = order_for(buyer, group, sku)
    _open_payment(order)
    _open_payment(order)
    for which in (0, 1):
        _settle_payment(order, which, True, False)
    order.refresh_from_db()
    late = Refund.objects.get(order=order, key__startswith="late-payment:")
    _notify("refund", late.key, late.amount, succeeded=True)
    order.refresh_from_db()

    assert order.state == OrderState.PAID
    assert (order.paid_amount, order.refunded_amount) == (order.total * 2, order.total)
    assert services.refundable(order) == order.total  # what the shop keeps: the order's price, once


def test_the_check_lists_an_order_that_drifted_and_fails_its_run(scene, shop, other_shop):
    group, buyer, operator, sku = scene
    order = order_for(buyer, group, sku)
    _open_payment(order)
    _settle_payment(order, 0, True, False)
    assert not order_ledger_mismatches().exists()

    Order.objects.filter(pk=order.pk).update(refunded_amount=F("refunded_amount") + Decimal("0.01"))

    assert list(order_ledger_mismatches(shop_id=shop.pk)) == [order]
    assert not order_ledger_mismatches(shop_id=other_shop.pk).exists()
    check_order_ledgers()
    run = JobRun.objects.get(job="order-ledger-check")
    assert (run.status, run.failures, run.shop_items) == ("failed", 1, {str(shop.pk): 1})
    assert order.number not in run.error  # every shop's staff sees the jobs page


def test_the_ledger_page_lists_this_shops_drifted_orders_only(client, scene, shop, other_shop):
    group, buyer, operator, sku = scene
    mine = order_for(buyer, group, sku)
    other_group = GroupFactory(shop=other_shop)
    theirs = order_for(make_buyer(other_group), other_group, SkuFactory(product__shop=other_shop))
    Order.objects.filter(pk__in=[mine.pk, theirs.pk]).update(paid_amount=Decimal("1.00"))
    client.force_login(OperatorFactory(shop=shop, role="viewer").user)

    page = client.get(reverse("dashboard:ledger_check"))

    assert page.status_code == 200
    html = page.content.decode()
    assert mine.number in html and theirs.number not in html
    Order.objects.filter(pk=mine.pk).update(paid_amount=Decimal("0.00"))
    assert "没有差异" in client.get(reverse("dashboard:ledger_check")).content.decode()


def test_the_ledger_page_runs_in_a_constant_number_of_queries(client, scene, shop, django_assert_max_num_queries):
    group, buyer, operator, sku = scene
    client.force_login(OperatorFactory(shop=shop, role="viewer").user)
    for n in (1, 8):
        orders = [order_for(buyer, group, sku) for _ in range(n)]
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(paid_amount=Decimal("1.00"))
        with django_assert_max_num_queries(12):
            assert client.get(reverse("dashboard:ledger_check")).status_code == 200
