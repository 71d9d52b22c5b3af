"""Exact counts under concurrent, duplicated acts, in real PostgreSQL transactions; the controls swap a
guard for the naive check-then-act it replaces and show the race is real."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderState
from referrals import services
from referrals.models import (
    CapPeriod,
    CommissionAccount,
    CommissionEntry,
    EventKind,
    ReferralEdge,
    ReferralEvent,
    Reward,
    RewardKind,
    RewardQuota,
    RewardStatus,
    WithdrawalRequest,
)
from referrals.services import RewardRuleInput, save_reward_rule
from shequn import locks
from tests.builders.orders import order_for
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, ShopFactory, SkuFactory, UserFactory, shop_owner
from tests.race import Gate, Held, finishes_within, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 10


def _paid_without_hooks(order):
    """Mark an order paid without running the hooks, so the test can run the referral hook itself."""
    Order.objects.filter(pk=order.pk).update(state=OrderState.PAID, paid_at=timezone.now())
    order.refresh_from_db()
    return order


def _on_paid(order):
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).select_related("group").get(pk=order.pk)
        return services.record_order_paid(locked)


@pytest.fixture
def setup():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    link = InviteLinkFactory(group=group)
    sku = SkuFactory(product__shop=shop, stock=1000)
    services.referral_settings(shop.pk)  # made on first use; here before the racers start
    return shop, group, link, sku


def test_a_duplicated_paid_hook_counts_the_order_once(setup):
    shop, group, link, sku = setup
    save_reward_rule(shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("10")))
    invitee = joins(link)
    order = _paid_without_hooks(order_for(invitee, group, sku))

    results = race(RACERS, lambda i: _on_paid(order))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert ReferralEvent.objects.filter(order=order, kind=EventKind.FIRST_ORDER).count() == 1
    assert ReferralEvent.objects.filter(kind=EventKind.QUALIFIED).count() == 1
    assert Reward.objects.count() == 1


def test_orders_paid_at_once_have_exactly_one_first_order(setup):
    shop, group, link, sku = setup
    invitee = joins(link)
    orders = [_paid_without_hooks(order_for(invitee, group, sku)) for _ in range(RACERS)]

    results = race(RACERS, lambda i: _on_paid(orders[i]))

    assert not [r for r in results if isinstance(r, Exception)], results
    kinds = list(
        ReferralEvent.objects.filter(order__isnull=False)
        .exclude(kind=EventKind.QUALIFIED)
        .values_list("kind", flat=True)
    )
    assert sorted(kinds) == sorted([EventKind.FIRST_ORDER] + [EventKind.REPEAT_ORDER] * (RACERS - 1))


def test_the_same_visitor_opening_at_once_counts_once(setup):
    _shop, _group, link, _sku = setup
    race(RACERS, lambda i: services.record_link_opened(link=link, visitor_key="device-1"))
    assert ReferralEvent.objects.filter(kind=EventKind.LINK_OPENED).count() == 1


def test_joins_racing_for_one_invitee_make_one_edge_and_one_join(setup):
    shop, _group, _link, _sku = setup
    invitee = UserFactory()
    links = [InviteLinkFactory(group=GroupFactory(shop=shop)) for _ in range(4)]

    race(4, lambda i: joins(links[i], invitee))

    assert ReferralEdge.objects.filter(shop=shop, invitee=invitee).count() == 1
    assert ReferralEvent.objects.filter(kind=EventKind.JOINED, invitee=invitee).count() == 1


# --- Caps --------------------------------------------------------------------------------------------------


def _qualify_many_at_once(setup, cap):
    shop, group, link, sku = setup
    save_reward_rule(
        shop=shop,
        by=shop_owner(shop),
        data=RewardRuleInput(
            kind=RewardKind.COUPON, amount=Decimal("10"), label="券", cap_count=cap, cap_period=CapPeriod.MONTH
        ),
    )
    orders = [_paid_without_hooks(order_for(joins(link), group, sku)) for _ in range(RACERS)]
    results = race(RACERS, lambda i: _on_paid(orders[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    return Reward.objects.filter(status=RewardStatus.PENDING).count()


def test_cap_holds_when_many_invitees_qualify_at_once(setup):
    assert _qualify_many_at_once(setup, cap=3) == 3
    assert Reward.objects.filter(status=RewardStatus.CAPPED).count() == RACERS - 3
    assert RewardQuota.objects.get().used == 3


def test_control_cap_breaks_without_the_guard(setup, monkeypatch):
    gate = Gate(RACERS)

    def naive_take_quota(rule, member_id, start):
        held = Reward.objects.filter(rule=rule, inviter_id=member_id, status=RewardStatus.PENDING).count()
        gate.wait()
        return held < rule.cap_count

    monkeypatch.setattr(services, "_take_quota", naive_take_quota)
    assert _qualify_many_at_once(setup, cap=3) > 3


# --- Loops -------------------------------------------------------------------------------------------------


def _bind_both_ways(shop):
    a, b = UserFactory(), UserFactory()
    pairs = [(a, b), (b, a)]
    results = race(
        2,
        lambda i: services.record_join(
            shop_id=shop.pk, inviter=pairs[i][0], invitee=pairs[i][1], channel="member", new_to_shop=True
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    return ReferralEdge.objects.filter(shop=shop).count()


def test_two_people_inviting_each_other_at_once_make_one_edge(setup):
    assert _bind_both_ways(setup[0]) == 1


def _checking_together(monkeypatch, racers):
    """Every racer reads the inviter's chain before any of them locks or writes (the loop check's race)."""
    gate = Gate(racers)
    chain_above = services._chain_above
    first = threading.local()

    def chain_then_wait(**kwargs):
        chain = chain_above(**kwargs)
        if not getattr(first, "done", False):
            first.done = True
            gate.wait()
        return chain

    monkeypatch.setattr(services, "_chain_above", chain_then_wait)


def test_inviting_each_other_at_once_makes_one_edge_even_when_both_check_first(setup, monkeypatch):
    _checking_together(monkeypatch, 2)
    assert _bind_both_ways(setup[0]) == 1


def test_control_loop_check_races_without_the_member_locks(setup, monkeypatch):
    _checking_together(monkeypatch, 2)
    monkeypatch.setattr(
        services,
        "_lock_binding",
        lambda **kw: services._chain_above(shop_id=kw["shop_id"], inviter_id=kw["inviter_id"]),
    )
    assert _bind_both_ways(setup[0]) == 2  # A → B and B → A: the locks are what prevent it


def test_racing_binds_never_close_a_longer_loop(setup, monkeypatch):
    """A → B exists; B invites C while C invites A, both checking first: A → B → C → A must not close."""
    shop = setup[0]
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    bind = services.record_join
    assert bind(shop_id=shop.pk, inviter=a, invitee=b, channel="member", new_to_shop=True)
    _checking_together(monkeypatch, 2)
    pairs = [(b, c), (c, a)]

    results = race(
        2, lambda i: bind(shop_id=shop.pk, inviter=pairs[i][0], invitee=pairs[i][1], channel="member", new_to_shop=True)
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r is not None for r in results) == 1
    assert ReferralEdge.objects.filter(shop=shop).count() == 2


def test_a_moved_binding_racing_another_never_closes_a_loop(setup, monkeypatch):
    """latest_in_window moves invitees: X1 (under P1) moves to Y1, a child of X2, while X2 (under P2)
    moves to Y2, a child of X1. Each check alone passes; together they would close X1→Y1→X2→Y2→X1."""
    shop = setup[0]
    services.update_referral_settings(shop=shop, by=shop_owner(shop), binding_rule="latest_in_window")
    p1, p2, x1, x2, y1, y2 = (UserFactory() for _ in range(6))
    bind = services.record_join
    for inviter, invitee in [(p1, x1), (p2, x2), (x2, y1), (x1, y2)]:
        assert bind(shop_id=shop.pk, inviter=inviter, invitee=invitee, channel="member", new_to_shop=True)
    chain_above = services._chain_above
    _checking_together(monkeypatch, 2)
    pairs = [(y1, x1), (y2, x2)]

    results = race(
        2, lambda i: bind(shop_id=shop.pk, inviter=pairs[i][0], invitee=pairs[i][1], channel="member", new_to_shop=True)
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r is not None for r in results) == 1, results
    for start in (x1, x2):  # no loop: walking up from anyone ends
        chain = chain_above(shop_id=shop.pk, inviter_id=start.pk)
        assert len(chain) == len(set(chain)) < 6


def _join(shop, inviter, invitee):
    return services.record_join(shop_id=shop.pk, inviter=inviter, invitee=invitee, channel="member", new_to_shop=True)


def test_binds_of_different_invitees_in_one_shop_do_not_wait_for_each_other(setup):
    shop = setup[0]
    popular, other = UserFactory(), UserFactory()
    first, second, third = UserFactory(), UserFactory(), UserFactory()

    with Held(lambda: _join(shop, popular, first)) as held:  # a bind in flight, its locks held
        same_inviter = finishes_within(5, lambda: _join(shop, popular, second))
        other_inviter = finishes_within(5, lambda: _join(shop, other, third))

    assert isinstance(held.result, ReferralEdge)
    assert same_inviter.wait(0) and isinstance(same_inviter.result, ReferralEdge), same_inviter.result
    assert other_inviter.wait(0) and isinstance(other_inviter.result, ReferralEdge), other_inviter.result
    assert ReferralEdge.objects.filter(shop=shop).count() == 3


def test_a_second_bind_of_the_same_invitee_waits_and_changes_nothing(setup):
    shop = setup[0]
    invitee, one, two = UserFactory(), UserFactory(), UserFactory()

    with Held(lambda: _join(shop, one, invitee)) as held:
        second = finishes_within(1, lambda: _join(shop, two, invitee))
        assert not second.wait(0)  # the invitee is locked by the bind in flight
    assert second.wait() and second.result is None  # then it goes on and finds the invitee bound
    assert isinstance(held.result, ReferralEdge)
    edges = ReferralEdge.objects.filter(shop=shop, invitee=invitee)
    assert [e.inviter_id for e in edges] == [one.pk]
    assert ReferralEvent.objects.filter(kind=EventKind.JOINED, invitee=invitee).count() == 1


def test_code_still_taking_the_old_shop_lock_excludes_new_binds(setup):
    """During a deploy the old code takes the shop's lock exclusively; new binds take it shared."""
    shop = setup[0]
    with Held(lambda: locks.lock(locks.Namespace.REFERRAL_BINDING, shop.pk)):
        bind = finishes_within(1, lambda: _join(shop, UserFactory(), UserFactory()))
        assert not bind.wait(0)
    assert bind.wait() and isinstance(bind.result, ReferralEdge)


# --- Money -------------------------------------------------------------------------------------------------


def test_granting_at_once_credits_each_commission_once(setup):
    shop, group, link, sku = setup
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("3.33"))
    )
    for _ in range(3):
        _on_paid(_paid_without_hooks(order_for(joins(link), group, sku)))
    later = timezone.now() + timedelta(days=8)

    results = race(RACERS, lambda i: services.grant_due_rewards(now=later))

    assert sum(results) == 3, results
    assert CommissionEntry.objects.count() == 3
    assert CommissionAccount.objects.get(member=link.inviter).balance == Decimal("9.99")


def test_withdrawals_racing_never_overdraw(setup):
    shop, group, link, sku = setup
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("10.00"))
    )
    _on_paid(_paid_without_hooks(order_for(joins(link), group, sku)))
    services.grant_due_rewards(now=timezone.now() + timedelta(days=8))

    race(
        RACERS,
        lambda i: services.request_withdrawal(member=link.inviter, shop_id=shop.pk, amount="10.00", account_note="wx"),
    )

    assert WithdrawalRequest.objects.count() == 1
    assert CommissionAccount.objects.get(member=link.inviter).balance == Decimal("0.00")
