"""Referrals as they happen: invitees joining through an inviter's link, their orders paid and refunded
through the simulated provider (the real order flow, hooks included)."""

from groups.services import join_via_link
from orders.services import approve_refund, request_refund
from tests.builders.orders import deliver, order_for, pay
from tests.factories import UserFactory


def joins(link, user=None):
    """A new person joins through `link`; returns them."""
    user = user or UserFactory()
    join_via_link(user=user, code=link.code)
    return user


def paid_order(buyer, group, sku, transport, quantity=1):
    order = order_for(buyer, group, sku, quantity=quantity)
    pay(order, transport)
    assert order.state == "paid"
    return order


def refund(order, operator, transport):
    request_refund(order=order, by=order.member, reason="不想要了")
    approve_refund(order=order, by=operator)
    deliver(transport)
    order.refresh_from_db()
    assert order.state == "refunded"
    return order
