"""Shared set-up of the coupon (券) tests: a running coupon template of a shop, members in its groups."""

from decimal import Decimal

from campaigns.models import CampaignType
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, SkuFactory

MINUS_20_OVER_100 = {"coupon_kind": "threshold", "amount_off": "20", "threshold": "100", "valid_days": 7}


def coupon_template(shop, *, settings=None, sku=None, **fields):
    """A running coupon template (满 100 减 20, 7 days after the claim, unless `settings` say otherwise)."""
    name = fields.pop("name", "满 100 减 20")
    return make_campaign(
        shop,
        sku,
        type=CampaignType.COUPON,
        name=name,
        hook_title=fields.pop("hook_title", name),
        cta_text=fields.pop("cta_text", "立即领取"),
        settings={**MINUS_20_OVER_100, **(settings or {})},
        **fields,
    )


def member_of(shop, group=None):
    """A member of a group of the shop (where the coupon templates run), and the group."""
    group = group or GroupFactory(shop=shop)
    return make_buyer(group), group


def sku_of(shop, price="59.90", stock=50):
    return SkuFactory(product__shop=shop, price=Decimal(price), stock=stock)
