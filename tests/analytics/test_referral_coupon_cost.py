"""邀请双方得券 in campaign ROI, end to end: a newcomer joins a group-buy team through a member's share link
(the referral is the group buy's), their first paid order qualifies, the coupon reward is granted after the
review period and both sides get a coupon of the shop's invite-both-get template; one coupon is then used on
an order. Every fen the shop gave away (the group price's discounts, the coupon's discount) is in the ROI
report once: a coupon reward costs what its coupons take off paid orders, never its face value as well."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import facts, reports, selectors
from analytics.selectors import Slice
from campaigns.models import Coupon, CouponState
from groups.services import add_member
from orders.models import OrderAdjustment
from orders.services import LineRequest, place_order
from referrals.models import ReferralEdge, Reward, RewardKind, RewardStatus
from referrals.services import grant_due_rewards
from tests.builders.campaigns import invite_both_get, join, make_campaign, open_team
from tests.builders.orders import SHIPPING, DjangoClientTransport, pay
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db

AFTER_REVIEW = timedelta(days=7, minutes=1)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


def _roi_rows(shop) -> dict[int, dict]:
    today = timezone.localdate()
    facts.rebuild_shop(shop_id=shop.pk, start=today, end=today)
    report = reports.campaign_roi(shop.pk, {"start": today, "end": today, "type": ""})
    return {row["campaign_id"]: row for row in report.table("roi").rows}


def _given_away_fen(shop) -> int:
    """What the shop actually gave away: every discount on its paid orders (campaign prices and coupons)."""
    adjustments = OrderAdjustment.objects.filter(order__shop=shop, order__paid_at__isnull=False)
    return sum(int(-a.amount * 100) for a in adjustments)


def _paid_order(shop, member, group, transport, *, price: str, **choices):
    order = place_order(
        member=member,
        group=group,
        lines=[LineRequest(SkuFactory(product__shop=shop, price=Decimal(price)).pk, 1)],
        delivery=SHIPPING,
        idempotency_key=uuid.uuid4().hex,
        choices=choices,
    )
    pay(order, transport)
    assert order.state == "paid"
    return order


@pytest.fixture
def referral_through_group_buy(shop, owner, transport):
    """The invite-both-get rule and template (无门槛 5 元), a group buy; a newcomer brought by a member's team
    share link pays their first (qualifying) order; the review period passes and the reward is granted."""
    template = invite_both_get(shop)
    group = GroupFactory(shop=shop)
    group_buy = make_campaign(shop, SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50), owner=owner)
    inviter = UserFactory()
    add_member(group=group, user=inviter, by=None)  # a member nobody invited: no reward of their own
    seat = open_team(group_buy, inviter, group)
    pay(seat.order, transport)
    newcomer = UserFactory()
    add_member(group=group, user=newcomer, by=None)  # came in during the campaign, nobody credited yet
    first = join(seat.team, newcomer, group, inviter=inviter).order
    pay(first, transport)
    edge = ReferralEdge.objects.get(shop=shop, invitee=newcomer)
    assert (edge.inviter, edge.campaign_id) == (inviter, group_buy.pk)
    # The paid team order that bound them is the referral's first order: it qualifies.
    reward = Reward.objects.get(shop=shop, kind=RewardKind.COUPON)
    assert (reward.inviter, reward.order) == (inviter, first)

    assert grant_due_rewards(now=timezone.now() + AFTER_REVIEW) == 1
    reward.refresh_from_db()
    assert reward.status == RewardStatus.GRANTED
    coupons = {c.member_id: c for c in Coupon.objects.filter(campaign=template)}
    assert set(coupons) == {inviter.pk, newcomer.pk}
    return template, group_buy, group, inviter, newcomer, coupons


def test_a_referral_coupon_used_on_an_order_is_one_cost_in_the_roi_report(shop, referral_through_group_buy, transport):
    template, group_buy, group, _inviter, newcomer, coupons = referral_through_group_buy
    coupon = coupons[newcomer.pk]
    order = _paid_order(shop, newcomer, group, transport, price="30.00", coupon=str(coupon.pk))
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED and order.total == Decimal("25.00")

    rows = _roi_rows(shop)
    assert set(rows) == {group_buy.pk, template.pk}
    # The coupon's 5 元 is in one row, in one part: not also as the reward's face value (the other coupon,
    # unused, has cost nothing yet).
    coupon_costs = {pk: row["reward_cost_fen"] + row["coupon_discount_fen"] for pk, row in rows.items()}
    assert sorted(coupon_costs.values()) == [0, 500]
    # Every fen given away is counted once across the campaigns: the group price's discounts and the coupon's.
    assert sum(row["cost_fen"] for row in rows.values()) == _given_away_fen(shop) == 2 * 3000 + 500
    # And once in the shop's facts as a whole (a referral with no campaign lands on no campaign's row).
    totals = selectors.totals(shop.pk, Slice(timezone.localdate(), timezone.localdate()))
    assert totals["reward_cost_fen"] + totals["coupon_discount_fen"] == 500


def test_granted_referral_coupons_cost_nothing_until_used(shop, referral_through_group_buy):
    template, group_buy, *_rest = referral_through_group_buy
    rows = _roi_rows(shop)
    assert rows[group_buy.pk]["reward_cost_fen"] == 0 and rows[template.pk]["cost_fen"] == 0
    assert sum(row["cost_fen"] for row in rows.values()) == _given_away_fen(shop) == 2 * 3000


def test_a_referral_through_an_invite_link_counts_its_used_coupon_once_in_the_shops_costs(shop, transport):
    """No campaign brought this referral: the coupon's discount is its template's cost, and the shop's facts
    hold it once."""
    template = invite_both_get(shop)
    group = GroupFactory(shop=shop)
    invitee = joins(InviteLinkFactory(group=group, inviter=UserFactory()))
    _paid_order(shop, invitee, group, transport, price="30.00")
    assert grant_due_rewards(now=timezone.now() + AFTER_REVIEW) == 1
    coupon = Coupon.objects.get(campaign=template, member=invitee)
    _paid_order(shop, invitee, group, transport, price="30.00", coupon=str(coupon.pk))

    rows = _roi_rows(shop)
    assert (rows[template.pk]["coupon_discount_fen"], rows[template.pk]["cost_fen"]) == (500, 500)
    totals = selectors.totals(shop.pk, Slice(timezone.localdate(), timezone.localdate()))
    assert totals["reward_cost_fen"] + totals["coupon_discount_fen"] == _given_away_fen(shop) == 500


def test_the_campaign_that_brought_the_referral_bears_its_coupons_discount(shop, referral_through_group_buy, transport):
    """Like the points a referral earns, the invite-both-get coupons are the cost of the campaign whose share
    link brought the invitee, not of the template that only describes the coupon."""
    template, group_buy, group, inviter, _newcomer, coupons = referral_through_group_buy
    assert {c.issuer_campaign_id for c in coupons.values()} == {group_buy.pk}
    _paid_order(shop, inviter, group, transport, price="30.00", coupon=str(coupons[inviter.pk].pk))

    rows = _roi_rows(shop)
    assert rows[group_buy.pk]["coupon_discount_fen"] == 500
    assert rows[template.pk]["cost_fen"] == 0
