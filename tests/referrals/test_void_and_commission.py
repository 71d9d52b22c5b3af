"""Voiding (what the fraud review confirms) and commission money: withdrawals an operator approves and
records as paid, balances that never go below zero."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from referrals import services
from referrals.models import (
    CommissionAccount,
    CommissionEntry,
    EntryKind,
    EventKind,
    ReferralEvent,
    Reward,
    RewardKind,
    RewardStatus,
    WithdrawalStatus,
)
from referrals.selectors import live_events
from referrals.services import RewardRuleInput, grant_due_rewards, save_reward_rule
from shequn import hooks
from tests.builders.referrals import joins, paid_order
from tests.factories import UserFactory, shop_owner

pytestmark = pytest.mark.django_db

LATER = timedelta(days=8)


@pytest.fixture
def rules(shop):
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100"))
    )
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("20.00"))
    )


class Recorder:
    def __init__(self):
        self.recorded, self.voided = [], []

    def event_recorded(self, event):
        self.recorded.append(event.key)

    def events_voided(self, events):
        self.voided.extend(e.key for e in events)


@pytest.fixture
def recorder():
    plugin = Recorder()
    hooks.referral_event_recorded.connect(plugin.event_recorded, priority=hooks.TELL)
    hooks.referral_events_voided.connect(plugin.events_voided, priority=hooks.TELL)
    yield plugin
    hooks.referral_event_recorded.disconnect(plugin.event_recorded)
    hooks.referral_events_voided.disconnect(plugin.events_voided)


# --- Voiding -------------------------------------------------------------------------------------------


def test_voided_events_leave_the_live_events_and_withhold_pending_rewards(
    shop, link, ref_group, sku, transport, operator, rules
):
    invitee = joins(link)
    paid_order(invitee, ref_group, sku, transport)
    events = ReferralEvent.objects.filter(invitee=invitee)
    voided = services.void_events(events, by=operator, reason="同一设备批量注册")
    assert {e.kind for e in voided} == {EventKind.JOINED, EventKind.FIRST_ORDER, EventKind.QUALIFIED}
    assert not live_events(shop=shop).filter(invitee=invitee).exists()
    assert all(e.voided_by == operator and e.void_reason == "同一设备批量注册" for e in events)
    assert set(Reward.objects.values_list("status", flat=True)) == {RewardStatus.WITHHELD}
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    assert not CommissionAccount.objects.exists()


def test_voiding_twice_changes_nothing(shop, link, operator):
    joins(link)
    event = ReferralEvent.objects.get(kind=EventKind.JOINED)
    assert services.void_events([event], by=operator, reason="环形邀请")
    assert services.void_events([event], by=None, reason="再次") == []
    event.refresh_from_db()
    assert event.voided_by == operator and event.void_reason == "环形邀请"


def test_granted_rewards_stay_granted_when_events_are_voided_later(shop, link, ref_group, sku, transport, rules):
    invitee = joins(link)
    paid_order(invitee, ref_group, sku, transport)
    grant_due_rewards(now=timezone.now() + LATER)
    services.void_events(ReferralEvent.objects.all(), by=None, reason="超时未审，按默认处理")
    assert set(Reward.objects.values_list("status", flat=True)) == {RewardStatus.GRANTED}


def test_an_invitee_whose_join_was_voided_never_qualifies_for_that_inviter(
    shop, link, ref_group, sku, transport, rules
):
    invitee = joins(link)
    services.void_events(ReferralEvent.objects.filter(kind=EventKind.JOINED), by=None, reason="刷单")
    paid_order(invitee, ref_group, sku, transport)
    assert not Reward.objects.exists()
    assert not ReferralEvent.objects.filter(kind=EventKind.QUALIFIED).exists()


def test_hooks_see_each_new_and_each_voided_event_once(shop, link, recorder):
    invitee = joins(link)
    assert recorder.recorded == [f"joined:{shop.pk}:{invitee.pk}"]
    services.record_join(shop_id=shop.pk, invitee=invitee, inviter=link.inviter, channel="member", new_to_shop=True)
    assert len(recorder.recorded) == 1  # a duplicate is not announced
    services.void_events(ReferralEvent.objects.all(), reason="x")
    services.void_events(ReferralEvent.objects.all(), reason="x")
    assert recorder.voided == recorder.recorded


# --- Commission and withdrawals ----------------------------------------------------------------------


@pytest.fixture
def earner(shop, link, ref_group, sku, transport, rules):
    """The inviter, with 20.00 of granted commission."""
    paid_order(joins(link), ref_group, sku, transport)
    grant_due_rewards(now=timezone.now() + LATER)
    return link.inviter


def _balance(shop, member):
    return CommissionAccount.objects.get(shop=shop, member=member).balance


def test_withdrawal_takes_the_amount_from_the_balance_at_once(shop, earner):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="15.50", account_note="微信 wx123")
    assert w.status == WithdrawalStatus.REQUESTED and w.amount == Decimal("15.50")
    assert _balance(shop, earner) == Decimal("4.50")
    entry = CommissionEntry.objects.get(kind=EntryKind.WITHDRAWAL)
    assert (entry.amount, entry.balance_after, entry.withdrawal) == (Decimal("-15.50"), Decimal("4.50"), w)


def test_withdrawal_above_the_balance_is_refused_and_leaves_nothing(shop, earner):
    with pytest.raises(ValidationError, match="余额不足"):
        services.request_withdrawal(member=earner, shop_id=shop.pk, amount="20.01", account_note="支付宝 a@b.cn")
    assert _balance(shop, earner) == Decimal("20.00")
    assert not earner.withdrawal_requests.exists()


def test_someone_without_commission_cannot_withdraw(shop):
    with pytest.raises(ValidationError, match="余额不足"):
        services.request_withdrawal(member=UserFactory(), shop_id=shop.pk, amount="1", account_note="wx")


def test_one_open_withdrawal_at_a_time(shop, earner):
    services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    with pytest.raises(ValidationError, match="处理中"):
        services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    assert _balance(shop, earner) == Decimal("15.00")


@pytest.mark.parametrize("amount", ["", "abc", "0", "-3", "1.234", "NaN", "Infinity", "1e20"])
def test_withdrawal_amount_must_be_positive_money(shop, earner, amount):
    with pytest.raises(ValidationError) as error:
        services.request_withdrawal(member=earner, shop_id=shop.pk, amount=amount, account_note="wx")
    assert "amount" in error.value.message_dict


def test_withdrawal_needs_a_payee(shop, earner):
    with pytest.raises(ValidationError) as error:
        services.request_withdrawal(member=earner, shop_id=shop.pk, amount="1", account_note="  ")
    assert "account_note" in error.value.message_dict


def test_operator_approves_then_records_the_payout(shop, earner, operator):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="20", account_note="wx")
    with pytest.raises(ValidationError):
        services.mark_withdrawal_paid(withdrawal=w, by=operator, payout_reference="T1")  # not approved yet
    services.approve_withdrawal(withdrawal=w, by=operator)
    with pytest.raises(ValidationError) as error:
        services.mark_withdrawal_paid(withdrawal=w, by=operator, payout_reference=" ")
    assert "payout_reference" in error.value.message_dict
    w = services.mark_withdrawal_paid(withdrawal=w, by=operator, payout_reference="微信转账 4200001")
    assert (w.status, w.paid_by, w.payout_reference) == (WithdrawalStatus.PAID, operator, "微信转账 4200001")
    assert w.decided_by == operator and w.paid_at is not None
    assert _balance(shop, earner) == Decimal("0.00")
    with pytest.raises(ValidationError):
        services.reject_withdrawal(withdrawal=w, by=operator, note="晚了")  # paid is final


def test_rejected_withdrawal_returns_the_money_once(shop, earner, operator):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="12", account_note="wx")
    with pytest.raises(ValidationError):
        services.reject_withdrawal(withdrawal=w, by=operator, note="")
    services.reject_withdrawal(withdrawal=w, by=operator, note="收款账号有误")
    with pytest.raises(ValidationError):
        services.reject_withdrawal(withdrawal=w, by=operator, note="再拒一次")
    assert _balance(shop, earner) == Decimal("20.00")
    ledger = list(CommissionEntry.objects.order_by("pk").values_list("amount", flat=True))
    assert ledger == [Decimal("20.00"), Decimal("-12.00"), Decimal("12.00")]
    # A rejected request no longer blocks a new one.
    services.request_withdrawal(member=earner, shop_id=shop.pk, amount="20", account_note="wx 正确账号")


def test_the_ledger_adds_up_to_the_balance(shop, earner, operator):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="7.25", account_note="wx")
    services.reject_withdrawal(withdrawal=w, by=operator, note="重新申请")
    services.request_withdrawal(member=earner, shop_id=shop.pk, amount="3.10", account_note="wx")
    account = CommissionAccount.objects.get(member=earner)
    assert sum(account.entries.values_list("amount", flat=True)) == account.balance == Decimal("16.90")
