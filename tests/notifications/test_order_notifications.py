"""Orders plug notifications in through orders.hooks: paid, shipped and refunded orders tell the member,
in the same transaction as the change, once per order and event."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications import services
from notifications.models import Category, Notification, NotificationState
from orders.models import OrderState
from orders.services import approve_refund, request_refund, ship_order
from tests.builders.orders import deliver, order_for, pay

pytestmark = pytest.mark.django_db


def test_paying_shipping_and_refunding_each_notify_the_buyer_once(group, customer, sku, operator, transport):
    order = order_for(customer, group, sku, quantity=2)
    pay(order, transport, duplicate=True)  # the provider notifies twice: one notification
    ship_order(order=order, by=operator, tracking_number="SF1001")
    request_refund(order=order, by=customer, reason="买多了")
    approve_refund(order=order, by=operator)
    deliver(transport)
    order.refresh_from_db()
    assert order.state == OrderState.REFUNDED

    notes = list(Notification.objects.filter(user=customer).order_by("pk"))
    assert [(n.kind, n.category) for n in notes] == [
        ("order_paid", Category.TRANSACTIONAL),
        ("order_shipped", Category.TRANSACTIONAL),
        ("order_refunded", Category.TRANSACTIONAL),
    ]
    assert all(n.shop_id == order.shop_id and n.url == reverse("orders:member_order", args=[order.pk]) for n in notes)
    assert order.number in notes[0].body and f"¥{order.total}" in notes[0].body
    assert f"¥{order.refunded_amount}" in notes[2].body


def test_a_refused_shipment_notifies_nobody(group, customer, sku, operator, transport):
    order = order_for(customer, group, sku)
    pay(order, transport)

    with pytest.raises(ValidationError):
        ship_order(order=order, by=operator)  # shipping needs a tracking number

    assert not Notification.objects.filter(kind="order_shipped").exists()


def test_order_notifications_reach_the_inbox_at_night(group, customer, sku, transport):
    from tests.builders.notifications import at_local

    order = order_for(customer, group, sku)
    pay(order, transport)

    services.deliver_due(now=at_local(23, 30))

    assert Notification.objects.get(kind="order_paid").state == NotificationState.SENT
