"""Campaign fixtures: a running group-buy campaign on a SKU, members in its group, paying and refunding
through the simulated provider (tests/orders/conftest.py)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import CampaignType
from campaigns.types import group_buy
from tests.factories import GroupFactory, SkuFactory, UserFactory
from tests.orders.conftest import SHIPPING, DjangoClientTransport, deliver, make_buyer, pay  # noqa: F401

GROUP_BUY_SETTINGS = {"team_size": 3, "group_price": "29.90", "time_limit_minutes": 60}


@pytest.fixture
def gb_group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def gb_sku(shop):
    return SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


def make_campaign(shop, sku, *, owner=None, type=CampaignType.GROUP_BUY, run=True, settings=None, **fields):
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=type,
        name=fields.pop("name", "三人团 有机米粉"),
        starts_at=fields.pop("starts_at", now - timedelta(minutes=1)),
        ends_at=fields.pop("ends_at", now + timedelta(days=3)),
        sku=sku,
        settings=GROUP_BUY_SETTINGS if settings is None else settings,
        hook_title="三人成团，立省一半",
        hook_text="好米粉，和朋友一起买更便宜",
        proof_text="有机认证证书；宝妈们都说好",
        cta_text="立即开团",
        **fields,
    )
    if run:
        services.schedule_campaign(campaign=campaign, by=owner)
        campaign.refresh_from_db()
    return campaign


@pytest.fixture
def campaign(shop, gb_sku, owner):
    return make_campaign(shop, gb_sku, owner=owner)


@pytest.fixture
def people(gb_group):
    """Five members of the campaign's group."""
    return [make_buyer(gb_group) for _ in range(5)]


def open_team(campaign, member, group, *, key=None, inviter=None):
    return group_buy.open_team(
        campaign=campaign,
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
        inviter=inviter,
    )


def join(team, member, group, *, key=None, inviter=None):
    return group_buy.join_team(
        team=team,
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
        inviter=inviter,
    )


def refresh(*objs):
    for obj in objs:
        obj.refresh_from_db()
    return objs


def new_user(**kw):
    return UserFactory(**kw)
