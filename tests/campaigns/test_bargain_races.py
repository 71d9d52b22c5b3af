"""Simultaneous cuts under real concurrent transactions: consecutive cuts, none skipped or repeated, the
price exactly at the floor and never below; the control shows the race without the conditional UPDATE."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection

from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut, BargainState, BargainTask
from campaigns.types.bargain import kind as bargaining
from campaigns.types.bargain.kind import BargainRefused
from tests.campaigns.social_support import bargain_campaign, friends, shop_rules_made, starter_in
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 12


def _bargain(cuts=5):
    shop = ShopFactory()
    campaign = bargain_campaign(shop, settings={"min_cuts": cuts})
    shop_rules_made(shop)
    return bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])


def test_simultaneous_cuts_take_each_planned_cut_once_and_stop_at_the_floor():
    task = _bargain(cuts=5)
    cutters = friends(RACERS)

    results = race(RACERS, lambda i: bargaining.cut(task=task, cutter=cutters[i]))

    made = sorted((r for r in results if isinstance(r, BargainCut)), key=lambda c: c.number)
    refused = [r for r in results if isinstance(r, BargainRefused)]
    assert len(made) == 5 and len(refused) == RACERS - 5, results
    assert all(r.reason == "floor" for r in refused)
    assert [c.number for c in made] == [1, 2, 3, 4, 5]
    assert [c.amount for c in made] == [to_yuan(fen) for fen in task.plan]  # the i-th cut, exactly
    task.refresh_from_db()
    assert (task.state, task.cuts_done, task.current_price) == (BargainState.FLOOR_REACHED, 5, Decimal("10.00"))
    assert made[-1].price_after == Decimal("10.00")


def test_control_the_race_is_real_without_the_guard(monkeypatch):
    task = _bargain(cuts=5)
    cutters = friends(RACERS)
    gate = Gate(RACERS)

    def naive_take(task_id, *, now, pay_deadline):
        seen = BargainTask.objects.get(pk=task_id)
        gate.wait()  # everyone reads before anyone writes
        if seen.state == BargainState.OPEN and seen.cuts_done < seen.cuts_planned:
            price = seen.current_price - to_yuan(seen.plan[seen.cuts_done])
            BargainTask.objects.filter(pk=task_id).update(cuts_done=seen.cuts_done + 1, current_price=price)
            return seen.cuts_done + 1, price
        return None

    monkeypatch.setattr(bargaining, "_take_next_cut", naive_take)
    results = race(RACERS, lambda i: bargaining.cut(task=task, cutter=cutters[i]))

    # Every racer was handed cut 1: only the unique index on (task, number) kept eleven of them from
    # taking the same cut, and friends were refused while four cuts were left.
    assert sum(isinstance(r, BargainCut) for r in results) == 1, results
    assert any(isinstance(r, IntegrityError | BargainRefused) for r in results)
    task.refresh_from_db()
    assert task.cuts_done == 1 and task.state == BargainState.OPEN


def test_one_friend_tapping_twice_at_once_cuts_once():
    task = _bargain(cuts=5)
    friend = friends(1)[0]

    results = race(6, lambda i: bargaining.cut(task=task, cutter=friend))

    assert sum(isinstance(r, BargainCut) for r in results) == 1, results
    task.refresh_from_db()
    assert task.cuts_done == 1 == BargainCut.objects.filter(task=task).count()
    assert task.current_price == Decimal("100.00") - to_yuan(task.plan[0])


def test_a_cut_racing_the_purchase_is_either_in_the_price_or_refused():
    shop = ShopFactory()
    campaign = bargain_campaign(shop, settings={"min_cuts": 2, "may_buy_before_floor": True})
    starter = starter_in(shop)[0]
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    bargaining.cut(task=task, cutter=friends(1)[0])
    last = friends(1)[0]
    from tests.builders.orders import SHIPPING

    results = race(
        2,
        lambda i: (
            bargaining.cut(task=task, cutter=last)
            if i == 0
            else bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k")
        ),
    )

    task.refresh_from_db()
    cut_won = isinstance(results[0], BargainCut)
    assert cut_won or results[0].reason == "closed", results
    assert task.state == BargainState.ORDERED
    # The order's price is the price when it was taken: the last cut either landed before it or not at all.
    assert (
        task.order.total
        == task.current_price
        == (Decimal("10.00") if cut_won else Decimal("100.00") - to_yuan(task.plan[0]))
    )


def test_the_expiry_job_run_concurrently_closes_each_bargain_once():
    tasks = [_bargain() for _ in range(4)]
    later = max(t.expires_at for t in tasks)

    results = race(4, lambda i: bargaining.close_due(now=later))

    assert sum(results) == 4, results
    assert BargainTask.objects.filter(state=BargainState.EXPIRED).count() == 4
    assert connection.vendor == "postgresql"


def test_a_cut_locks_the_bargain_only_after_its_act_and_the_referral_binding(monkeypatch):
    """The bargain's row is every friend's hot spot: the act, its fraud checks, the friend's activity and
    a newcomer's referral binding are written before it is locked; only the cut and its credit after."""
    from campaigns import services
    from referrals.models import EventKind, ReferralEdge, ReferralEvent
    from tests.factories import UserFactory
    from tests.race import lock_elsewhere

    task = _bargain(cuts=5)
    newcomer = UserFactory()  # brand new: the cut binds them to the starter
    probes = {}
    real_record_act, real_credit = services.record_act, services.credit_act

    def record_act_then_probe(**kwargs):
        act = real_record_act(**kwargs)
        probes["after the act"] = lock_elsewhere(BargainTask, task.pk)
        return act

    def probe_then_credit(act, **kwargs):
        probes["after the cut"] = lock_elsewhere(BargainTask, task.pk)
        return real_credit(act, **kwargs)

    monkeypatch.setattr(services, "record_act", record_act_then_probe)
    monkeypatch.setattr(services, "credit_act", probe_then_credit)
    made = bargaining.cut(task=task, cutter=newcomer)

    assert probes["after the act"] == "free"
    assert probes["after the cut"].startswith("locked"), probes
    assert ReferralEdge.objects.filter(invitee=newcomer, inviter=task.starter).count() == 1
    credit = ReferralEvent.objects.get(kind=EventKind.CAMPAIGN_ACT, invitee=newcomer)
    assert credit.amount == made.amount == to_yuan(task.plan[0])
