"""The database holds the same ranges as the forms and serializers (shequn/bounds.py): a write that skips
the forms — the admin, a shell, a future code path — still cannot store a number outside its range.

Each row writes with `.update()`, which runs no validators, so only the CHECK constraint can refuse it;
the in-range values beside them show the constraint is not simply refusing everything."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from campaigns.models import CampaignType
from orders.models import Product, Sku
from referrals.models import RewardKind, RewardRule
from shequn.bounds import MAX_CAMPAIGN_NUMBER, MAX_PER_MEMBER_LIMIT, MAX_REWARD_CAP, MAX_USAGE_CYCLE_DAYS
from tests.builders.campaigns import make_campaign
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db


def _stores(model, pk, **values) -> bool:
    """Whether the database accepts `values` on row `pk` (refused writes leave the row as it was)."""
    try:
        with transaction.atomic():
            model.objects.filter(pk=pk).update(**values)
    except IntegrityError:
        return False
    return True


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)


def test_product_usage_cycle(sku):
    pk = sku.product_id
    assert all(_stores(Product, pk, usage_cycle_days=value) for value in (1, MAX_USAGE_CYCLE_DAYS))
    assert not any(_stores(Product, pk, usage_cycle_days=value) for value in (0, MAX_USAGE_CYCLE_DAYS + 1))


def test_sku_per_member_limit(sku):
    assert all(_stores(Sku, sku.pk, per_member_limit=value) for value in (None, 1, MAX_PER_MEMBER_LIMIT))
    assert not any(_stores(Sku, sku.pk, per_member_limit=value) for value in (0, MAX_PER_MEMBER_LIMIT + 1))


def test_reward_rule_cap(shop):
    rule = RewardRule.objects.create(shop=shop, kind=RewardKind.POINTS, amount=Decimal("10"))
    assert all(_stores(RewardRule, rule.pk, cap_count=value) for value in (None, 1, MAX_REWARD_CAP))
    assert not any(_stores(RewardRule, rule.pk, cap_count=value) for value in (0, MAX_REWARD_CAP + 1))


@pytest.mark.parametrize("field", ["stock_cap", "per_member_limit"])
def test_campaign_limits(shop, sku, owner, field):
    campaign = make_campaign(shop, sku, owner=owner, type=CampaignType.GROUP_BUY, run=False)
    model = type(campaign)
    assert all(_stores(model, campaign.pk, **{field: value}) for value in (None, 1, MAX_CAMPAIGN_NUMBER))
    assert not any(_stores(model, campaign.pk, **{field: value}) for value in (0, MAX_CAMPAIGN_NUMBER + 1))
