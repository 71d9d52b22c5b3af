"""Redis down is the Celery broker down too: a write that asks a worker to follow up after commit must not
turn into an error after its data is committed; the periodic job hands the refund over instead."""

import pytest

from orders.models import OrderState, RefundState, SimulatedCharge, SimulatedNotificationOutbox
from orders.payments.simulated import settle
from orders.services import refund_order, start_payment
from shequn.celery import app
from tests.builders.orders import order_for, pay
from tests.test_redis_down import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """The broker at an address where no Redis answers, as after it stopped."""
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    monkeypatch.setattr(app, "_pool", None)


def test_the_cashier_settles_with_the_broker_down(
    buyer, buyer_group, sku, broker_down, django_capture_on_commit_callbacks
):
    order = order_for(buyer, buyer_group, sku)
    payment, _ = start_payment(order=order)
    charge = SimulatedCharge.objects.get(reference=payment.provider_ref)

    with django_capture_on_commit_callbacks(execute=True) as kicks:
        settle(charge, succeeded=True)

    assert len(kicks) == 1  # the pump's kick was tried; its failure stayed out of the cashier's answer
    assert SimulatedNotificationOutbox.objects.filter(reference=charge.reference).count() == 1  # the pump's work


def test_a_refund_is_recorded_with_the_broker_down(
    operator, buyer, buyer_group, sku, transport, broker_down, django_capture_on_commit_callbacks
):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    assert order.state == OrderState.PAID
    with django_capture_on_commit_callbacks(execute=True) as kicks:
        refund = refund_order(order=order, by=operator, reason="缺货")

    assert len(kicks) == 1  # the kick was tried, and its failure stayed out of the request
    refund.refresh_from_db()
    assert refund.state == RefundState.PENDING and not refund.provider_ref  # resend_unsent_refunds' work
