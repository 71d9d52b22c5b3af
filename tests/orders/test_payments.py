"""Provider callbacks: verified, applied once, late payments refunded, money reconciled to the fen."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.models import Order, OrderState, Payment, PaymentState, ProviderNotification, Refund, RefundState
from orders.payments.simulated import SIGNATURE_HEADER, sign
from orders.services import approve_refund, cancel_order, reconcile, refund_part, request_refund, start_payment
from tests.builders.orders import deliver, order_for, pay

pytestmark = pytest.mark.django_db
S = OrderState


def _post(client, body: str, signature: str | None):
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.generic(
        "POST", "/pay/notify/simulated/", body.encode(), content_type="application/json", headers=headers
    )


def _notification(payment, **overrides):
    data = {
        "id": "N-test-1",
        "kind": "payment",
        "reference": payment.provider_ref,
        "status": "succeeded",
        "amount": str(payment.amount),
        "currency": "CNY",
    }
    data.update(overrides)
    return json.dumps(data)


@pytest.fixture
def unpaid(buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku, quantity=2)
    payment, url = start_payment(order=order)
    assert url == f"/pay/simulated/{payment.provider_ref}/"
    return order, payment


def test_bad_signature_is_refused_and_changes_nothing(client, unpaid):
    order, payment = unpaid
    body = _notification(payment)
    assert _post(client, body, "0" * 64).status_code == 400
    assert _post(client, body, None).status_code == 400
    assert _post(client, body.replace("N-test-1", "N-other"), sign(body)).status_code == 400  # body altered
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT and not ProviderNotification.objects.exists()


@pytest.mark.parametrize("override", [{"amount": "0.01"}, {"currency": "USD"}, {"reference": "SIMNOPE"}])
def test_wrong_amount_currency_or_reference_is_refused(client, unpaid, override):
    order, payment = unpaid
    body = _notification(payment, **override)
    assert _post(client, body, sign(body)).status_code == 400
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT and payment.state == PaymentState.CREATED


def test_valid_notification_pays_once_even_when_sent_twice(client, unpaid):
    order, payment = unpaid
    body = _notification(payment)
    assert _post(client, body, sign(body)).status_code == 200
    assert _post(client, body, sign(body)).status_code == 200  # provider retry: acknowledged, ignored
    order.refresh_from_db()
    assert order.state == S.PAID
    assert order.transitions.filter(to_state=S.PAID).count() == 1
    assert ProviderNotification.objects.count() == 1


def test_provider_notifying_twice_through_the_outbox(unpaid, transport):
    order, _ = unpaid
    pay(order, transport, duplicate=True)
    assert order.state == S.PAID and transport.statuses == [200, 200]
    assert order.transitions.filter(to_state=S.PAID).count() == 1


def test_failed_payment_leaves_the_order_payable(unpaid, transport):
    order, payment = unpaid
    pay(order, transport, succeeded=False)
    payment.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT and payment.state == PaymentState.FAILED
    again, _ = start_payment(order=order)
    assert again.pk != payment.pk


def test_paying_twice_reuses_the_open_payment(unpaid):
    order, payment = unpaid
    assert start_payment(order=order)[0].pk == payment.pk


def test_late_payment_for_a_cancelled_order_is_refunded(buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport, delay_seconds=120)  # the member paid, the notification is late
    assert order.state == S.PENDING_PAYMENT
    cancel_order(order=order, by=None, reason="超时未付款，自动取消")
    deliver(transport, now=timezone.now() + timedelta(minutes=3))  # the late payment notification
    deliver(transport)  # the refund notification
    order.refresh_from_db()
    assert order.state == S.CANCELLED
    refund = Refund.objects.get(order=order)
    assert refund.key.startswith("late-payment:") and refund.state == RefundState.SUCCEEDED
    assert refund.amount == order.total
    assert reconcile(order)["balanced"]


def test_refund_notification_failures_and_duplicates(settings, buyer, buyer_group, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    request_refund(order=order, by=buyer, reason="质量问题")
    settings.SIMULATED_REFUND_BEHAVIOUR = {"outcome": "success", "duplicate": True, "delay_seconds": 0}
    approve_refund(order=order, by=operator)
    deliver(transport)
    order.refresh_from_db()
    assert order.state == S.REFUNDED and order.refunded_amount == order.total
    assert Refund.objects.get(order=order).state == RefundState.SUCCEEDED


def test_failed_refund_is_visible_and_order_stays_requested(settings, buyer, buyer_group, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    request_refund(order=order, by=buyer, reason="质量问题")
    settings.SIMULATED_REFUND_BEHAVIOUR = {"outcome": "fail"}
    approve_refund(order=order, by=operator)
    deliver(transport)
    order.refresh_from_db()
    assert order.state == S.REFUND_REQUESTED and order.refunded_amount == 0
    assert Refund.objects.get(order=order).state == RefundState.FAILED


def test_partial_refund_keeps_state_and_never_exceeds_total(buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku, quantity=2)  # 79.80
    pay(order, transport)
    refund_part(order=order, amount=Decimal("4.00"), key="tier:1", reason="阶梯差价")
    refund_part(order=order, amount=Decimal("4.00"), key="tier:1", reason="阶梯差价")  # same key: once
    deliver(transport)
    order.refresh_from_db()
    assert order.state == S.PAID and order.refunded_amount == Decimal("4.00")
    with pytest.raises(ValidationError):
        refund_part(order=order, amount=Decimal("75.81"), key="too-much", reason="x")
    assert reconcile(order)["balanced"]


def test_every_order_reconciles_to_the_fen(shop, buyer, buyer_group, operator, transport):
    from tests.factories import SkuFactory

    prices = ["0.01", "9.90", "19.99", "33.33", "128.00"]
    skus = [SkuFactory(product__shop=shop, price=Decimal(p)) for p in prices]
    orders = [order_for(buyer, buyer_group, sku, quantity=q) for q, sku in enumerate(skus, start=1)]
    for order in orders[:4]:
        pay(order, transport)
    request_refund(order=orders[0], by=buyer, reason="r")
    approve_refund(order=orders[0], by=operator)
    refund_part(order=orders[1], amount=Decimal("0.01"), key="p1", reason="r")
    cancel_order(order=orders[4], by=buyer)
    deliver(transport)
    for order in Order.objects.all():
        figures = reconcile(order)
        assert figures["balanced"], (order.state, figures)
        assert figures["total"] == figures["subtotal"] - figures["discount"]
    total_paid = sum(p.amount for p in Payment.objects.filter(state=PaymentState.SUCCEEDED))
    total_refunded = sum(r.amount for r in Refund.objects.filter(state=RefundState.SUCCEEDED))
    kept = sum(reconcile(o)["kept"] for o in Order.objects.all())
    assert (
        total_paid - total_refunded
        == kept
        == Decimal("0.01") * 0 + (Decimal("9.90") * 2 - Decimal("0.01") + Decimal("19.99") * 3 + Decimal("33.33") * 4)
    )
