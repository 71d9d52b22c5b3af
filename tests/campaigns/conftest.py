"""Campaign fixtures: a running group-buy campaign on a SKU, members in its group, paying and refunding
through the simulated provider (the builders are in tests/builders/campaigns.py and orders.py)."""

from decimal import Decimal

import pytest

from tests.builders.campaigns import make_campaign
from tests.builders.orders import DjangoClientTransport, make_buyer
from tests.factories import GroupFactory, SkuFactory


@pytest.fixture
def gb_group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def gb_sku(shop):
    return SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


@pytest.fixture
def campaign(shop, gb_sku, owner):
    return make_campaign(shop, gb_sku, owner=owner)


@pytest.fixture
def people(gb_group):
    """Five members of the campaign's group."""
    return [make_buyer(gb_group) for _ in range(5)]
