"""Referral fixtures: an inviter with a link into a group of the shop, invitees who join through it,
and orders paid and refunded through the simulated provider (the real order flow, hooks included)."""

import pytest

from groups.services import join_via_link
from orders.services import approve_refund, request_refund
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory
from tests.orders.conftest import DjangoClientTransport, deliver, order_for, pay


@pytest.fixture
def inviter(db):
    return UserFactory()


@pytest.fixture
def ref_group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def link(ref_group, inviter):
    return InviteLinkFactory(group=ref_group, inviter=inviter)


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop)  # 39.90


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


def joins(link, user=None):
    """A new person joins through `link`; returns them."""
    user = user or UserFactory()
    join_via_link(user=user, code=link.code)
    return user


@pytest.fixture
def invitee(link):
    return joins(link)


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
