"""Fraud review: each flag says in words what looks wrong; confirming voids, clearing dismisses.

The detection job is idempotent (one flag per shop, kind, subject and period); a confirmed flag's
events leave every board for good and their pending rewards are withheld; an unreviewed flag follows
the shop's default after its deadline.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders.models import Order
from referrals import fraud
from referrals import leaderboards as lb
from referrals.fraud_models import DefaultDecision, FlagKind, FlagStatus, FraudFlag
from referrals.leaderboards import Board, Metric
from referrals.models import EventKind, ReferralEvent, Reward, RewardKind, RewardRule, RewardStatus
from tests.factories import GroupFactory, PickupPointFactory, ShopFactory, UserFactory, shop_owner
from tests.referrals.board_support import at, record

pytestmark = pytest.mark.django_db

J = EventKind.JOINED


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def person(**kwargs):
    """A member whose account is long established (so only the young-account tests see new ones)."""
    return UserFactory(date_joined=at(1, 0), **kwargs)


def flags(shop, kind=None):
    qs = FraudFlag.objects.filter(shop=shop)
    return list(qs.filter(kind=kind) if kind else qs)


def joins(shop, inviter, n, *, start, step=timedelta(minutes=5), **kwargs):
    return [
        record(shop=shop, inviter=inviter, invitee=person(), kind=J, at=start + i * step, **kwargs) for i in range(n)
    ]


# --- Each flag ---------------------------------------------------------------------------------------


def test_more_joins_in_a_day_than_a_person_can_add_is_a_burst(shop):
    alice = person(display_name="阿丽")
    events = joins(shop, alice, 23, start=at(5, 8))

    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 1

    [flag] = flags(shop, FlagKind.BURST)
    assert (flag.member, flag.period, flag.status) == (alice, "2025-03-05", FlagStatus.OPEN)
    assert sorted(flag.events.values_list("pk", flat=True)) == [e.pk for e in events[20:]]
    words = fraud.explain(flag)
    assert "阿丽" in words and "23" in words and "20" in words and "3 条" in words


def test_up_to_the_limit_is_not_a_burst_and_the_limit_is_the_shops(shop):
    alice = person()
    joins(shop, alice, 20, start=at(5, 8))
    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 0

    fraud.update_fraud_settings(shop=shop, by=shop_owner(shop), burst_limit_per_day=5)
    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 1
    assert flags(shop, FlagKind.BURST)[0].events.count() == 15


def test_detection_runs_any_number_of_times_without_a_second_flag(shop):
    alice = person()
    joins(shop, alice, 22, start=at(5, 8))
    assert fraud.detect(shop_id=shop.pk, now=at(5, 20)) == 1
    joins(shop, alice, 2, start=at(5, 21))  # more the same day: the open flag gains them

    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 0
    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 0
    [flag] = flags(shop)
    assert flag.events.count() == 4 and flag.evidence["count"] == 24


def test_many_invitees_from_one_device_in_a_short_time(shop):
    alice, bob = person(), person()
    joins(shop, alice, 2, start=at(5, 9), step=timedelta(minutes=20), device="phone-1")
    joins(shop, bob, 1, start=at(5, 9, 50), device="phone-1")
    joins(shop, alice, 3, start=at(6, 9), step=timedelta(hours=2), device="phone-2")  # spread out: fine

    assert fraud.detect(shop_id=shop.pk, now=at(6, 23)) == 1

    [flag] = flags(shop, FlagKind.SHARED_DEVICE)
    assert flag.subject == "device:phone-1" and flag.member == alice and flag.events.count() == 3
    assert "同一台设备" in fraud.explain(flag) and "3 个不同的被邀请账号" in fraud.explain(flag)


def test_many_invitees_from_one_ip_in_a_short_time(shop):
    alice = person()
    joins(shop, alice, 10, start=at(5, 9), step=timedelta(minutes=3), ip="203.0.113.7")
    joins(shop, alice, 9, start=at(5, 9), step=timedelta(minutes=3), ip="203.0.113.8")

    fraud.detect(shop_id=shop.pk, now=at(5, 23))

    [flag] = flags(shop, FlagKind.SHARED_IP)
    assert flag.subject == "ip:203.0.113.7" and flag.events.count() == 10
    assert "同一个 IP 地址" in fraud.explain(flag)


def test_invitees_who_never_did_anything_after_joining(shop):
    alice, bob = person(display_name="阿丽"), person()
    lurkers = joins(shop, alice, 5, start=at(3, 10))
    busy = joins(shop, bob, 5, start=at(3, 10))
    record(shop=shop, inviter=bob, invitee=busy[0].invitee, kind=EventKind.FIRST_ORDER, amount="20", at=at(4))

    assert fraud.detect(shop_id=shop.pk, now=at(6)) == 0  # too early to call them dormant
    assert fraud.detect(shop_id=shop.pk, now=at(12)) == 1

    [flag] = flags(shop, FlagKind.DORMANT)
    assert flag.member == alice and flag.period == "2025-W10"
    assert sorted(flag.events.values_list("pk", flat=True)) == [e.pk for e in lurkers]
    assert "阿丽" in fraud.explain(flag) and "7 天后" in fraud.explain(flag)


def test_an_order_is_doing_something(shop):
    alice = person()
    lurkers = joins(shop, alice, 5, start=at(3, 10))
    Order.objects.create(
        shop=shop,
        group=GroupFactory(shop=shop),
        member=lurkers[0].invitee,
        number="T1",
        delivery="pickup",
        pickup_point=PickupPointFactory(shop=shop),
        idempotency_key="k",
        pay_deadline=at(4),
        subtotal=Decimal("9.90"),
        total=Decimal("9.90"),
    )

    assert fraud.detect(shop_id=shop.pk, now=at(12)) == 0


def test_two_members_bringing_each_other_is_a_ring(shop):
    alice, bob = person(display_name="阿丽"), person(display_name="阿博")
    there = record(shop=shop, inviter=alice, invitee=bob, kind=J, at=at(5))
    back = record(shop=shop, inviter=bob, invitee=alice, kind=EventKind.CAMPAIGN_ACT, at=at(5, 13))

    fraud.detect(shop_id=shop.pk, now=at(6))

    [flag] = flags(shop, FlagKind.RING)
    assert flag.subject == f"ring:{min(alice.pk, bob.pk)}-{max(alice.pk, bob.pk)}"
    assert sorted(flag.events.values_list("pk", flat=True)) == sorted([there.pk, back.pk])
    assert "阿丽" in fraud.explain(flag) and "阿博" in fraud.explain(flag) and "环" in fraud.explain(flag)


def test_a_short_cycle_is_a_ring_found_once(shop):
    a, b, c = person(), person(), person()
    record(shop=shop, inviter=a, invitee=b, kind=J, at=at(5))
    record(shop=shop, inviter=b, invitee=c, kind=J, at=at(5))
    record(shop=shop, inviter=c, invitee=a, kind=EventKind.CAMPAIGN_ACT, at=at(5))
    record(shop=shop, inviter=a, invitee=person(), kind=J, at=at(5))  # not in the cycle

    assert fraud.detect(shop_id=shop.pk, now=at(6)) == 1
    [flag] = flags(shop, FlagKind.RING)
    assert flag.events.count() == 3 and len(flag.evidence["cycle"]) == 3


def test_a_plain_chain_is_no_ring(shop):
    a, b, c = person(), person(), person()
    record(shop=shop, inviter=a, invitee=b, kind=J, at=at(5))
    record(shop=shop, inviter=b, invitee=c, kind=J, at=at(5))
    assert fraud.detect(shop_id=shop.pk, now=at(6)) == 0


def test_new_accounts_sharing_a_phone_are_flagged(shop):
    alice = person(display_name="阿丽")
    one = record(shop=shop, inviter=alice, invitee=UserFactory(date_joined=at(5, 12)), at=at(5, 12, 10), device="d1")
    two = record(shop=shop, inviter=alice, invitee=UserFactory(date_joined=at(5, 12)), at=at(5, 12, 15), device="d1")
    record(shop=shop, inviter=alice, invitee=UserFactory(date_joined=at(5, 12)), at=at(5, 12, 20), device="d2")
    record(shop=shop, inviter=alice, invitee=UserFactory(date_joined=at(1)), at=at(5, 12, 10), device="d1")  # old
    seventy_minutes = UserFactory(date_joined=at(5, 11))
    record(shop=shop, inviter=alice, invitee=seventy_minutes, at=at(5, 12, 10), device="d1")

    fraud.detect(shop_id=shop.pk, now=at(5, 23))

    [flag] = flags(shop, FlagKind.YOUNG_ACCOUNT)
    assert flag.member == alice and set(flag.events.all()) == {one, two}
    assert "不满 30 分钟" in fraud.explain(flag) and "共用设备或 IP" in fraud.explain(flag)


def test_a_new_account_on_its_own_device_is_only_a_signal_not_a_flag(shop):
    """A brand-new friend helping is what a help campaign is for: youth alone raises nothing."""
    alice = person(display_name="阿丽")
    for n in range(3):
        record(shop=shop, inviter=alice, invitee=UserFactory(date_joined=at(5, 12)), at=at(5, 12, 10), device=f"d{n}")

    fraud.detect(shop_id=shop.pk, now=at(5, 23))

    assert not flags(shop, FlagKind.YOUNG_ACCOUNT)


def test_refused_self_invites_are_flagged(shop):
    alice = person(display_name="阿丽")
    for action in ("open", "join"):
        fraud.record_self_referral_attempt(shop_id=shop.pk, user=alice, action=action, at=at(5, 10))

    fraud.detect(shop_id=shop.pk, now=at(5, 23))

    [flag] = flags(shop, FlagKind.SELF_REFERRAL)
    assert flag.member == alice and flag.evidence["attempts"] == 2
    assert "阿丽" in fraud.explain(flag) and "自己的邀请链接" in fraud.explain(flag)


def test_an_invitee_on_the_inviters_own_device_is_a_disguised_self_referral(shop):
    alice = person()
    fraud.record_self_referral_attempt(shop_id=shop.pk, user=alice, action="open", device="alice-phone", at=at(5, 9))
    alt = record(
        shop=shop, inviter=alice, invitee=person(display_name="小号"), kind=J, at=at(5, 10), device="alice-phone"
    )
    record(shop=shop, inviter=alice, invitee=person(), kind=J, at=at(5, 10), device="friend-phone")

    fraud.detect(shop_id=shop.pk, now=at(5, 23))

    pair = [f for f in flags(shop, FlagKind.SELF_REFERRAL) if f.subject.startswith("pair:")]
    assert len(pair) == 1 and list(pair[0].events.all()) == [alt]
    assert "小号" in fraud.explain(pair[0])


def test_nothing_suspicious_raises_nothing(shop):
    alice = person()
    for i in range(5):
        invitee = UserFactory(date_joined=at(1))
        record(shop=shop, inviter=alice, invitee=invitee, kind=J, at=at(5, 9 + i), device=f"d{i}", ip=f"10.0.0.{i}")
        record(shop=shop, inviter=alice, invitee=invitee, kind=EventKind.CAMPAIGN_ACT, at=at(5, 15 + i))
    assert fraud.detect(shop_id=shop.pk, now=at(20)) == 0


# --- Review ----------------------------------------------------------------------------------------


def _burst_flag(shop, inviter, n=22):
    events = joins(shop, inviter, n, start=at(5, 8))
    fraud.detect(shop_id=shop.pk, now=at(5, 23))
    return FraudFlag.objects.get(shop=shop, kind=FlagKind.BURST), events


def test_confirming_voids_the_events_they_leave_every_board_and_pending_rewards_are_withheld(shop, operator, committed):
    alice = person()
    with committed():
        flag, events = _burst_flag(shop, alice)
        fake = events[-1]
        later = record(shop=shop, inviter=alice, invitee=fake.invitee, kind=EventKind.QUALIFIED, at=at(6))
    rule = RewardRule.objects.create(shop=shop, kind=RewardKind.POINTS, amount=Decimal("10"))
    reward = Reward.objects.create(
        shop=shop,
        rule=rule,
        kind=rule.kind,
        inviter=alice,
        invitee=fake.invitee,
        edge=_edge(shop, alice, fake.invitee),
        event=later,
        amount=Decimal("10"),
        period_start=at(6).date(),
        due_at=at(13),
    )
    joins_board = Board.of(shop_id=shop.pk, metric=Metric.JOINS)
    assert lb.rank_of(joins_board, alice.pk)[0].value == 22

    with committed():
        fraud.confirm_flag(flag=flag, by=operator, reason="一天拉 22 人，核实为刷量")

    flag.refresh_from_db()
    assert (flag.status, flag.decided_by, flag.voided_count) == (FlagStatus.CONFIRMED, operator, 3)
    assert flag.decision_reason == "一天拉 22 人，核实为刷量" and not flag.auto_decided
    voided = ReferralEvent.objects.filter(voided_at__isnull=False)
    assert set(voided.values_list("pk", flat=True)) == {events[20].pk, events[21].pk, later.pk}
    assert all(e.voided_by == operator and "刷量" in e.void_reason for e in voided)
    assert lb.rank_of(joins_board, alice.pk)[0].value == 20
    assert lb.top(Board.of(shop_id=shop.pk, metric=Metric.QUALIFIED)) == []
    lb.rebuild(joins_board)
    assert lb.rank_of(joins_board, alice.pk)[0].value == 20
    reward.refresh_from_db()
    assert reward.status == RewardStatus.WITHHELD


def _edge(shop, inviter, invitee):
    from referrals.models import ReferralEdge

    return ReferralEdge.objects.create(shop=shop, inviter=inviter, invitee=invitee, channel="member")


def test_clearing_dismisses_and_records_who_and_why(shop, operator, committed):
    alice = person()
    with committed():
        flag, _events = _burst_flag(shop, alice)

    with committed():
        fraud.clear_flag(flag=flag, by=operator, reason="线下活动，现场扫码，属实")

    flag.refresh_from_db()
    assert (flag.status, flag.decided_by) == (FlagStatus.CLEARED, operator)
    assert flag.decision_reason == "线下活动，现场扫码，属实"
    assert flag.decided_at is not None and flag.voided_count == 0
    assert not ReferralEvent.objects.filter(voided_at__isnull=False).exists()
    assert lb.rank_of(Board.of(shop_id=shop.pk, metric=Metric.JOINS), alice.pk)[0].value == 22


def test_a_flag_is_decided_once_and_never_without_a_reason(shop, operator):
    flag, _events = _burst_flag(shop, person())
    with pytest.raises(ValidationError) as missing:
        fraud.confirm_flag(flag=flag, by=operator, reason="  ")
    assert "理由" in str(missing.value)

    fraud.clear_flag(flag=flag, by=operator, reason="属实")
    with pytest.raises(ValidationError) as twice:
        fraud.confirm_flag(flag=flag, by=operator, reason="改主意了")
    assert "已经处理" in str(twice.value)
    assert not ReferralEvent.objects.filter(voided_at__isnull=False).exists()


def test_an_overdue_flag_follows_the_shops_default_hold(shop):
    flag, events = _burst_flag(shop, person())
    assert fraud.apply_deadlines(now=flag.deadline - timedelta(minutes=1)) == 0

    assert fraud.apply_deadlines(now=flag.deadline) == 1
    assert fraud.apply_deadlines(now=flag.deadline) == 0

    flag.refresh_from_db()
    assert (flag.status, flag.auto_decided, flag.decided_by) == (FlagStatus.CONFIRMED, True, None)
    assert "扣留" in flag.decision_reason
    assert ReferralEvent.objects.filter(voided_at__isnull=False).count() == 2


def test_an_overdue_flag_follows_the_shops_default_release(shop):
    fraud.update_fraud_settings(
        shop=shop, by=shop_owner(shop), default_decision=DefaultDecision.RELEASE, decision_hours=24
    )
    flag, _events = _burst_flag(shop, person())
    assert flag.deadline == at(5, 23) + timedelta(hours=24)

    fraud.apply_deadlines(now=flag.deadline + timedelta(hours=1))

    flag.refresh_from_db()
    assert (flag.status, flag.auto_decided) == (FlagStatus.CLEARED, True) and "放行" in flag.decision_reason
    assert not ReferralEvent.objects.filter(voided_at__isnull=False).exists()


def test_a_decided_flag_gains_no_new_events(shop, operator):
    alice = person()
    flag, _events = _burst_flag(shop, alice)
    fraud.clear_flag(flag=flag, by=operator, reason="属实")
    joins(shop, alice, 3, start=at(5, 22))

    assert fraud.detect(shop_id=shop.pk, now=at(5, 23)) == 0
    assert flag.events.count() == 2


def test_flags_of_one_shop_are_not_another_shops(shop):
    other = ShopFactory()
    joins(other, person(), 25, start=at(5, 8))
    fraud.detect(now=at(5, 23))
    assert flags(shop) == [] and len(flags(other)) == 1
    assert list(fraud.flags_for_shop(shop)) == [] and len(fraud.flags_for_platform()) == 1


def test_bad_thresholds_are_refused(shop):
    with pytest.raises(ValidationError):
        fraud.update_fraud_settings(shop=shop, by=shop_owner(shop), burst_limit_per_day=0)
    with pytest.raises(ValidationError):
        fraud.update_fraud_settings(shop=shop, by=shop_owner(shop), default_decision="maybe")
