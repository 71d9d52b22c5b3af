"""Shared set-up of the help (助力) and bargain (砍价) tests: running campaigns on a SKU, a starter in the
campaign's group, friends who sign in from the share link."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import CampaignType
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, SkuFactory, UserFactory

HELP_SETTINGS = {"helps_needed": 3, "time_limit_minutes": 120, "reward_kind": "price", "reward_price": "0.01"}
BARGAIN_SETTINGS = {
    "original_price": "100.00",
    "floor_price": "10.00",
    "min_cuts": 5,
    "time_limit_minutes": 120,
    "first_cut_share": "0.50",
    "pay_within_minutes": 60,
}


def an_hour_old(**kw):
    """A friend whose account is not brand new (brand-new accounts are recorded with a flag)."""
    return UserFactory(date_joined=timezone.now() - timedelta(days=30), **kw)


def friends(n):
    return [an_hour_old() for _ in range(n)]


def help_campaign(shop, *, settings=None, **fields):
    sku = fields.pop("sku", None) or SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)
    return make_campaign(
        shop,
        sku,
        type=CampaignType.HELP,
        name=fields.pop("name", "三人助力 1 分钱领米粉"),
        settings={**HELP_SETTINGS, **(settings or {})},
        **fields,
    )


def bargain_campaign(shop, *, settings=None, **fields):
    sku = fields.pop("sku", None) or SkuFactory(product__shop=shop, price=Decimal("100.00"), stock=50)
    return make_campaign(
        shop,
        sku,
        type=CampaignType.BARGAIN,
        name=fields.pop("name", "砍到 10 元 有机米粉"),
        settings={**BARGAIN_SETTINGS, **(settings or {})},
        **fields,
    )


def starter_in(shop):
    """A member of a group of the shop (where the campaigns run), and the group."""
    group = GroupFactory(shop=shop)
    return make_buyer(group), group


def shop_rules_made(shop):
    """Make the shop's fraud and referral settings (made on first use) before racers start: otherwise the
    racers' first-use inserts wait for each other inside their transactions, and a test's gate with them."""
    from campaigns.services import young_account_minutes
    from referrals.services import referral_settings

    young_account_minutes(shop.pk)
    referral_settings(shop.pk)
