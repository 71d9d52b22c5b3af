"""The last coupon under real concurrent transactions: of many members claiming the last unit at once,
exactly one gets it (one conditional UPDATE decides); the control shows the race without it. A member's
double tap never claims past the per-member limit (unique claim numbers); one coupon pays for one order."""

import pytest
from django.db import transaction

from campaigns.models import Campaign, Coupon, CouponState
from campaigns.types.coupon import kind as coupons
from campaigns.types.coupon.kind import CouponRefused
from tests.builders.campaigns import coupon_template
from tests.builders.orders import order_for
from tests.factories import GroupFactory, ShopFactory
from tests.race import Gate, race

from .coupon_support import member_of, sku_of
from .social_support import shop_rules_made

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 10


def _last_unit_up_for_grabs():
    shop = ShopFactory()
    shop_rules_made(shop)
    template = coupon_template(shop, stock_cap=3)
    group = GroupFactory(shop=shop)
    for _ in range(2):  # two of the three are gone already
        coupons.claim_coupon(campaign=template, member=member_of(shop, group)[0])
    return template, [member_of(shop, group)[0] for _ in range(RACERS)]


def test_the_last_coupon_is_claimed_exactly_once():
    template, members = _last_unit_up_for_grabs()

    results = race(RACERS, lambda i: coupons.claim_coupon(campaign=template, member=members[i]))

    won = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if isinstance(r, CouponRefused)]
    assert len(won) == 1 and len(refused) == RACERS - 1, results
    assert all(r.reason == "sold_out" for r in refused)
    template.refresh_from_db()
    assert template.stock_used == template.stock_cap == 3
    assert Coupon.objects.filter(campaign=template).count() == 3


def test_control_without_the_conditional_update_the_last_coupon_is_claimed_many_times(monkeypatch):
    template, members = _last_unit_up_for_grabs()
    gate = Gate(RACERS)

    def naive_take(campaign_id):
        seen = Campaign.objects.get(pk=campaign_id)
        gate.wait()  # everyone reads before anyone writes
        if seen.stock_cap is None or seen.stock_used < seen.stock_cap:
            Campaign.objects.filter(pk=campaign_id).update(stock_used=seen.stock_used + 1)
            return True
        return False

    monkeypatch.setattr(coupons, "_take_supply", naive_take)
    results = race(RACERS, lambda i: coupons.claim_coupon(campaign=template, member=members[i]))

    # Every racer saw one unit left: the supply of three was handed out twelve times (a lost update keeps the
    # counter at three, so even the CHECK behind it cannot see it).
    assert sum(isinstance(r, Coupon) for r in results) == RACERS, results
    assert Coupon.objects.filter(campaign=template).count() == 2 + RACERS


def test_a_double_tap_never_claims_past_the_per_member_limit():
    shop = ShopFactory()
    shop_rules_made(shop)
    template = coupon_template(shop, per_member_limit=2)
    member, _group = member_of(shop)

    results = race(6, lambda i: coupons.claim_coupon(campaign=template, member=member))

    assert sum(isinstance(r, Coupon) for r in results) == 2, results
    assert all(isinstance(r, Coupon | CouponRefused) for r in results), results
    assert sorted(Coupon.objects.filter(member=member).values_list("claim_number", flat=True)) == [1, 2]


def test_one_coupon_pays_for_one_of_two_orders_placed_at_once():
    shop = ShopFactory()
    template = coupon_template(shop)
    member, group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=template, member=member)
    sku = sku_of(shop)
    orders = [order_for(member, group, sku) for _ in range(2)]

    def use(i):
        with transaction.atomic():
            coupons.use_coupon(coupon_id=coupon.pk, order=orders[i])
        return orders[i]

    results = race(2, use)

    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED and coupon.order_id in {o.pk for o in orders}
