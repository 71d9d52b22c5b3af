"""Notification fixtures: a member of a shop reachable by SMS and e-mail, and a way to pay (writing
notifications and the clock to deliver them at are in tests/builders/notifications.py)."""

import pytest

from groups.services import join_via_link
from tests.builders.orders import DjangoClientTransport
from tests.factories import InviteLinkFactory, SkuFactory, UserFactory


@pytest.fixture
def customer(shop, group):
    """A member of the shop (in one of its groups), reachable by SMS (phone) and e-mail."""
    user = UserFactory(email="fang@example.com")
    join_via_link(user=user, code=InviteLinkFactory(group=group).code)
    return user


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop)


@pytest.fixture
def transport(client):
    """Delivers the simulated payment provider's callbacks through the test client."""
    return DjangoClientTransport(client)
