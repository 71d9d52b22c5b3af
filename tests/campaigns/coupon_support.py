"""Shared set-up of the coupon (券) tests: members in a shop's groups, a SKU of the shop (the coupon
templates themselves come from tests/builders/campaigns.py)."""

from decimal import Decimal

from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, SkuFactory


def member_of(shop, group=None):
    """A member of a group of the shop (where the coupon templates run), and the group."""
    group = group or GroupFactory(shop=shop)
    return make_buyer(group), group


def sku_of(shop, price="59.90", stock=50):
    return SkuFactory(product__shop=shop, price=Decimal(price), stock=stock)
