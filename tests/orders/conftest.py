"""Order fixtures: a member in a group of a shop with a product on sale, and a way to pay
(the builders are in tests/builders/orders.py)."""

import pytest

from tests.builders.orders import DjangoClientTransport, make_buyer
from tests.factories import GroupFactory, SkuFactory


@pytest.fixture
def buyer_group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop)


@pytest.fixture
def buyer(buyer_group):
    return make_buyer(buyer_group)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)
