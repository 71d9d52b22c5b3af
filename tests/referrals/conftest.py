"""Referral fixtures: an inviter with a link into a group of the shop, invitees who join through it,
and orders paid and refunded through the simulated provider (the builders are in
tests/builders/referrals.py)."""

import pytest

from tests.builders.orders import DjangoClientTransport
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory


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


@pytest.fixture
def invitee(link):
    return joins(link)
