"""Notification fixtures: a member of a shop, a way to write notifications, and a fixed clock.

Commercial messages depend on the time of day (quiet hours 21:00–09:00), so tests that deliver them
pass an explicit `now` in the future: rows written at the real "now" are due then, whatever the hour.
"""

import itertools
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from groups.services import join_via_link
from notifications.models import Category
from notifications.services import notify
from tests.factories import InviteLinkFactory, SkuFactory, UserFactory
from tests.orders.conftest import DjangoClientTransport

_keys = itertools.count()


def at_local(hour: int, minute: int = 0, *, days: int = 1) -> datetime:
    """Today + `days` at hh:mm in Asia/Shanghai (after every row a test writes now)."""
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def noon() -> datetime:
    return at_local(12)


def write(shop, user, category=Category.MARKETING, key=None, **fields):
    """notify() with defaults; returns what notify returns."""
    return notify(
        shop=shop,
        user=user,
        category=category,
        kind=fields.pop("kind", f"{category}_test"),
        key=key or f"test:{next(_keys)}",
        title=fields.pop("title", "本周新品"),
        body=fields.pop("body", "新到的有机小米，群内专享。"),
        url=fields.pop("url", "/m/orders/"),
        **fields,
    )


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
