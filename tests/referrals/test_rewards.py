"""Qualification and rewards: a referral qualifies on a paid order that is not refunded; rewards wait out
the review period, are reversed by a refund inside it, are capped per inviter and period, and come once
per (invitee, kind)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.services import request_refund
from referrals import services
from referrals.models import (
    CapPeriod,
    CommissionAccount,
    CommissionEntry,
    EventKind,
    QualifyOn,
    ReferralEdge,
    ReferralEvent,
    Reward,
    RewardKind,
    RewardStatus,
)
from referrals.selectors import current_edge, live_events
from referrals.services import RewardRuleInput, grant_due_rewards, save_reward_rule
from tests.builders.referrals import joins, paid_order, refund
from tests.factories import UserFactory, shop_owner

pytestmark = pytest.mark.django_db

LATER = timedelta(days=7, minutes=1)


@pytest.fixture
def points_rule(shop):
    return save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100"))
    )


@pytest.fixture
def commission_rule(shop):
    return save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("5.00"), commission_rate=Decimal("0.10")),
    )


def _events(kind):
    return list(ReferralEvent.objects.filter(kind=kind).order_by("pk"))


# --- Events of orders --------------------------------------------------------------------------------


def test_first_and_repeat_orders_of_an_invitee_are_credited_to_the_inviter(
    shop, link, invitee, ref_group, sku, transport
):
    first = paid_order(invitee, ref_group, sku, transport)
    second = paid_order(invitee, ref_group, sku, transport, quantity=2)
    (f,), (r,) = _events(EventKind.FIRST_ORDER), _events(EventKind.REPEAT_ORDER)
    assert (f.order, f.amount, f.inviter, f.key) == (first, Decimal("39.90"), link.inviter, f"order:{first.pk}")
    assert (r.order, r.amount, r.inviter) == (second, Decimal("79.80"), link.inviter)


def test_a_repeated_paid_hook_records_nothing_twice(invitee, ref_group, sku, transport):
    order = paid_order(invitee, ref_group, sku, transport)
    services.record_order_paid(order)
    services.record_order_paid(order)
    assert ReferralEvent.objects.filter(order=order).count() == 2  # the order event and the qualification
    assert ReferralEvent.objects.filter(kind=EventKind.QUALIFIED).count() == 1


def test_orders_of_someone_nobody_brought_are_not_referral_events(shop, ref_group, sku, transport, operator):
    from groups.services import add_member

    walk_in = UserFactory()
    add_member(group=ref_group, user=walk_in, by=operator)
    paid_order(walk_in, ref_group, sku, transport)
    assert not ReferralEvent.objects.exists()


# --- Qualification -------------------------------------------------------------------------------------


def test_joining_alone_does_not_qualify_by_default(shop, invitee):
    assert current_edge(shop.pk, invitee.pk).qualified_at is None
    assert not ReferralEvent.objects.filter(kind=EventKind.QUALIFIED).exists()


def test_a_paid_order_qualifies_the_referral(shop, link, invitee, ref_group, sku, transport):
    order = paid_order(invitee, ref_group, sku, transport)
    edge = current_edge(shop.pk, invitee.pk)
    assert edge.qualified_at is not None and edge.qualifying_order == order
    (q,) = _events(EventKind.QUALIFIED)
    assert (q.inviter, q.invitee, q.order) == (link.inviter, invitee, order)


def test_an_unpaid_order_does_not_qualify(shop, invitee, ref_group, sku):
    from tests.builders.orders import order_for

    order_for(invitee, ref_group, sku)
    assert current_edge(shop.pk, invitee.pk).qualified_at is None


def test_an_order_below_the_shop_minimum_does_not_qualify(shop, invitee, ref_group, sku, transport):
    services.update_referral_settings(shop=shop, by=shop_owner(shop), qualifying_min_amount=Decimal("50.00"))
    paid_order(invitee, ref_group, sku, transport)  # 39.90
    assert current_edge(shop.pk, invitee.pk).qualified_at is None
    paid_order(invitee, ref_group, sku, transport, quantity=2)  # 79.80
    assert current_edge(shop.pk, invitee.pk).qualified_at is not None


def test_a_refund_disqualifies(shop, invitee, ref_group, sku, transport, operator):
    order = paid_order(invitee, ref_group, sku, transport)
    refund(order, operator, transport)
    edge = current_edge(shop.pk, invitee.pk)
    assert edge.qualified_at is None and edge.qualifying_order is None
    assert not live_events(shop=shop, kinds=[EventKind.QUALIFIED, EventKind.FIRST_ORDER]).exists()
    voided = ReferralEvent.objects.get(kind=EventKind.FIRST_ORDER)
    assert voided.voided_at is not None and voided.void_reason == services.REFUND_VOID_REASON


def test_a_refund_moves_the_qualification_to_another_paid_order(
    shop, invitee, ref_group, sku, transport, operator, points_rule
):
    first = paid_order(invitee, ref_group, sku, transport)
    second = paid_order(invitee, ref_group, sku, transport)
    refund(first, operator, transport)
    edge = current_edge(shop.pk, invitee.pk)
    assert edge.qualified_at is not None and edge.qualifying_order == second
    assert live_events(shop=shop, kinds=EventKind.QUALIFIED).get().order == second
    assert sorted(Reward.objects.values_list("status", "order")) == sorted(
        [(RewardStatus.REVERSED, first.pk), (RewardStatus.PENDING, second.pk)]
    )


def test_shop_may_count_the_join_alone(shop, link, points_rule):
    services.update_referral_settings(shop=shop, by=shop_owner(shop), qualify_on=QualifyOn.JOINED)
    invitee = joins(link)
    assert current_edge(shop.pk, invitee.pk).qualified_at is not None
    reward = Reward.objects.get()
    assert reward.order is None and reward.status == RewardStatus.PENDING
    assert grant_due_rewards(now=timezone.now() + LATER) == 1


# --- Rewards ---------------------------------------------------------------------------------------------


def test_rewards_wait_for_the_review_period_then_are_granted(
    shop, link, invitee, ref_group, sku, transport, points_rule
):
    order = paid_order(invitee, ref_group, sku, transport)
    reward = Reward.objects.get()
    assert (reward.inviter, reward.invitee, reward.kind, reward.amount, reward.status) == (
        link.inviter,
        invitee,
        RewardKind.POINTS,
        Decimal("100.00"),
        RewardStatus.PENDING,
    )
    assert reward.order == order
    assert timedelta(days=6, hours=23) < reward.due_at - timezone.now() <= timedelta(days=7)
    assert grant_due_rewards() == 0  # still in review
    assert grant_due_rewards(now=timezone.now() + LATER) == 1
    reward.refresh_from_db()
    assert reward.status == RewardStatus.GRANTED and reward.granted_at is not None
    assert grant_due_rewards(now=timezone.now() + LATER) == 0  # idempotent


def test_an_open_fraud_flag_holds_the_reward_until_it_is_decided(
    shop, invitee, ref_group, sku, transport, points_rule, operator
):
    from referrals.fraud import clear_flag
    from referrals.fraud_models import FlagKind, FraudFlag

    paid_order(invitee, ref_group, sku, transport)
    reward = Reward.objects.get()
    flag = FraudFlag.objects.create(
        shop=shop,
        kind=FlagKind.values[0],
        subject=f"user:{invitee.pk}",
        member=invitee,
        deadline=timezone.now() + LATER * 2,
    )
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    assert Reward.objects.get().status == RewardStatus.PENDING

    clear_flag(flag=flag, by=operator, reason="核实为真实好友")
    assert grant_due_rewards(now=timezone.now() + LATER) == 1
    reward.refresh_from_db()
    assert reward.status == RewardStatus.GRANTED


def test_review_period_is_a_shop_setting(shop, invitee, ref_group, sku, transport, points_rule):
    services.update_referral_settings(shop=shop, by=shop_owner(shop), review_days=0)
    paid_order(invitee, ref_group, sku, transport)
    assert grant_due_rewards() == 1


def test_refund_inside_the_review_period_reverses_the_reward(
    shop, invitee, ref_group, sku, transport, operator, points_rule
):
    order = paid_order(invitee, ref_group, sku, transport)
    refund(order, operator, transport)
    reward = Reward.objects.get()
    assert reward.status == RewardStatus.REVERSED and reward.closed_at is not None
    assert grant_due_rewards(now=timezone.now() + LATER) == 0


def test_a_refund_still_being_decided_holds_the_reward(shop, invitee, ref_group, sku, transport, points_rule):
    order = paid_order(invitee, ref_group, sku, transport)
    request_refund(order=order, by=invitee, reason="想退")
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    assert Reward.objects.get().status == RewardStatus.PENDING


def test_refund_after_the_review_period_keeps_the_granted_reward(
    shop, invitee, ref_group, sku, transport, operator, points_rule
):
    order = paid_order(invitee, ref_group, sku, transport)
    grant_due_rewards(now=timezone.now() + LATER)
    refund(order, operator, transport)
    assert Reward.objects.get().status == RewardStatus.GRANTED


def test_commission_is_credited_once_to_the_ledger(shop, link, invitee, ref_group, sku, transport, commission_rule):
    paid_order(invitee, ref_group, sku, transport)  # 39.90 × 10% = 3.99, plus 5.00
    reward = Reward.objects.get()
    assert reward.amount == Decimal("8.99")
    assert not CommissionAccount.objects.exists()  # nothing before the review period ends
    grant_due_rewards(now=timezone.now() + LATER)
    grant_due_rewards(now=timezone.now() + LATER)
    account = CommissionAccount.objects.get(member=link.inviter, shop=shop)
    assert account.balance == Decimal("8.99")
    entry = CommissionEntry.objects.get()
    assert (entry.amount, entry.balance_after, entry.reward) == (Decimal("8.99"), Decimal("8.99"), reward)


def test_each_reward_once_per_invitee_and_kind(shop, invitee, ref_group, sku, transport, points_rule):
    paid_order(invitee, ref_group, sku, transport)
    paid_order(invitee, ref_group, sku, transport)
    assert Reward.objects.count() == 1
    first = Reward.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Reward.objects.create(
            shop=shop,
            rule=first.rule,
            kind=first.kind,
            inviter=first.inviter,
            invitee=invitee,
            edge=first.edge,
            amount=1,
            period_start=first.period_start,
            due_at=first.due_at,
        )


def test_each_active_rule_gives_its_own_reward(shop, invitee, ref_group, sku, transport, points_rule, commission_rule):
    paid_order(invitee, ref_group, sku, transport)
    assert sorted(Reward.objects.values_list("kind", flat=True)) == [RewardKind.COMMISSION, RewardKind.POINTS]


def test_rewards_are_capped_per_inviter_per_period(shop, link, ref_group, sku, transport, operator):
    save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(
            kind=RewardKind.COUPON, amount=Decimal("10"), label="10元券", cap_count=2, cap_period=CapPeriod.MONTH
        ),
    )
    buyers = [joins(link) for _ in range(3)]
    orders = [paid_order(b, ref_group, sku, transport) for b in buyers]
    assert sorted(Reward.objects.values_list("status", flat=True)) == sorted(
        [RewardStatus.PENDING, RewardStatus.PENDING, RewardStatus.CAPPED]
    )
    # A reversed reward gives its place under the cap back.
    refund(orders[0], operator, transport)
    fourth = joins(link)
    paid_order(fourth, ref_group, sku, transport)
    assert Reward.objects.get(invitee=fourth).status == RewardStatus.PENDING
    assert Reward.objects.filter(status=RewardStatus.PENDING).count() == 2


def test_cap_applies_to_each_inviter_separately(shop, ref_group, sku, transport):
    from tests.factories import InviteLinkFactory

    save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("1"), cap_count=1, cap_period=CapPeriod.DAY),
    )
    for _ in range(2):
        paid_order(joins(InviteLinkFactory(group=ref_group)), ref_group, sku, transport)
    assert Reward.objects.filter(status=RewardStatus.PENDING).count() == 2


def test_a_new_rule_replaces_the_active_one_of_its_kind(shop, points_rule):
    newer = save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("200"))
    )
    points_rule.refresh_from_db()
    assert not points_rule.is_active and newer.is_active


@pytest.mark.parametrize(
    "data, field",
    [
        (RewardRuleInput(kind="cash", amount=Decimal("1")), "kind"),
        (RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("-1")), "amount"),
        (RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("0")), "amount"),
        (RewardRuleInput(kind=RewardKind.COUPON, amount=Decimal("5")), "label"),
        (
            RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("1"), commission_rate=Decimal("0.1")),
            "commission_rate",
        ),
        (RewardRuleInput(kind=RewardKind.COMMISSION, commission_rate=Decimal("1.5")), "commission_rate"),
        (RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("1"), cap_count=0), "cap_count"),
    ],
)
def test_reward_rules_are_validated(shop, data, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        save_reward_rule(shop=shop, by=shop_owner(shop), data=data)
    assert field in error.value.message_dict


def test_moved_invitee_leaves_the_original_inviter_their_reward(shop, link, ref_group, sku, transport, points_rule):
    from referrals.models import BindingRule
    from tests.factories import GroupFactory, InviteLinkFactory

    services.update_referral_settings(shop=shop, by=shop_owner(shop), binding_rule=BindingRule.LATEST_WITHIN_WINDOW)
    services.update_referral_settings(shop=shop, by=shop_owner(shop), qualify_on=QualifyOn.JOINED)
    invitee = joins(link)  # qualifies on joining: the original inviter's reward
    joins(InviteLinkFactory(group=GroupFactory(shop=shop)), invitee)  # qualified: stays with the original
    assert ReferralEdge.objects.filter(invitee=invitee).count() == 1
    assert Reward.objects.get().inviter == link.inviter
