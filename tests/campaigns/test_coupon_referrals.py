"""邀请双方得券 (invite-both-get) through the referral reward rules: when an invitee's first paid order
qualifies, a coupon reward waits out the review period; once granted, the inviter and the invitee each get
a coupon of the shop's invite-both-get template, once; a refund inside the review period or an open fraud
flag means no coupon; a cap holds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Coupon
from referrals.models import Reward, RewardKind, RewardStatus
from referrals.services import RewardRuleInput, grant_due_rewards, save_reward_rule
from tests.builders.campaigns import coupon_template, invite_both_get
from tests.builders.orders import DjangoClientTransport
from tests.builders.referrals import joins, paid_order, refund
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db

LATER = timedelta(days=7, minutes=1)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


@pytest.fixture
def setting(shop):
    """A shop whose coupon reward rule gives both sides a 无门槛 5 元 coupon; an inviter's link; an invitee."""
    template = invite_both_get(shop)
    group = GroupFactory(shop=shop)
    link = InviteLinkFactory(group=group, inviter=UserFactory())
    return template, group, link, SkuFactory(product__shop=shop)


def test_both_sides_get_a_coupon_once_the_review_period_is_over(setting, transport):
    template, group, link, sku = setting
    invitee = joins(link)
    paid_order(invitee, group, sku, transport)
    reward = Reward.objects.get(kind=RewardKind.COUPON)
    assert reward.status == RewardStatus.PENDING
    assert grant_due_rewards() == 0 and not Coupon.objects.exists()  # still in review

    assert grant_due_rewards(now=timezone.now() + LATER) == 1
    given = {c.member_id: c for c in Coupon.objects.filter(campaign=template)}
    assert set(given) == {link.inviter_id, invitee.pk}
    assert all(c.channel == "rule" and c.state == "available" for c in given.values())
    assert given[link.inviter_id].grant_key == f"referral:{reward.pk}:inviter"

    assert grant_due_rewards(now=timezone.now() + LATER) == 0  # the reward is granted once: no third coupon
    assert Coupon.objects.count() == 2


def test_a_refund_inside_the_review_period_gives_no_coupon(setting, transport, operator):
    template, group, link, sku = setting
    invitee = joins(link)
    order = paid_order(invitee, group, sku, transport)
    refund(order, operator, transport)
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    assert Reward.objects.get().status == RewardStatus.REVERSED
    assert not Coupon.objects.filter(campaign=template).exists()


def test_an_open_fraud_flag_holds_the_coupons(setting, transport, shop):
    from referrals.fraud_models import FlagKind, FraudFlag

    template, group, link, sku = setting
    invitee = joins(link)
    paid_order(invitee, group, sku, transport)
    FraudFlag.objects.create(
        shop=shop,
        kind=FlagKind.SHARED_DEVICE,
        subject=f"user:{invitee.pk}",
        member=invitee,
        deadline=timezone.now() + LATER * 2,
    )
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    assert not Coupon.objects.filter(campaign=template).exists()


def test_the_rules_cap_limits_an_inviters_coupons(shop, transport):
    save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(kind=RewardKind.COUPON, amount=Decimal("5.00"), label="券", cap_count=1),
    )
    template = coupon_template(
        shop, settings={"coupon_kind": "no_threshold", "amount_off": "5", "referral_reward": True}
    )
    group = GroupFactory(shop=shop)
    link = InviteLinkFactory(group=group, inviter=UserFactory())
    sku = SkuFactory(product__shop=shop)
    for _ in range(2):
        paid_order(joins(link), group, sku, transport)
    assert sorted(Reward.objects.values_list("status", flat=True)) == [RewardStatus.CAPPED, RewardStatus.PENDING]
    grant_due_rewards(now=timezone.now() + LATER)
    assert Coupon.objects.filter(campaign=template, member_id=link.inviter_id).count() == 1


def test_without_an_invite_both_get_template_the_reward_is_granted_and_no_coupon_given(shop, transport):
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.COUPON, amount=Decimal("5"), label="券")
    )
    coupon_template(shop)  # a plain coupon, not the referral reward
    group = GroupFactory(shop=shop)
    link = InviteLinkFactory(group=group, inviter=UserFactory())
    paid_order(joins(link), group, SkuFactory(product__shop=shop), transport)
    assert grant_due_rewards(now=timezone.now() + LATER) == 1
    assert not Coupon.objects.exists()
