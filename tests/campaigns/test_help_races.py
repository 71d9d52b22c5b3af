"""The K-th help under real concurrent transactions: exactly K helps, places 1…K once each, the task
completes and its reward is granted once; the control shows the race without the conditional UPDATE."""

import itertools
import threading

import pytest
from django.db import IntegrityError

from campaigns.models import Help, HelpTask, HelpTaskState
from campaigns.types.help import kind as helping
from campaigns.types.help.kind import HelpRefused
from tests.campaigns.social_support import friends, help_campaign, shop_rules_made, starter_in
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 12


def _task(k=5):
    shop = ShopFactory()
    campaign = help_campaign(shop, settings={"helps_needed": k})
    shop_rules_made(shop)
    return helping.start_task(campaign=campaign, member=starter_in(shop)[0])


def test_the_kth_help_is_given_once_when_many_tap_at_once():
    task = _task(k=5)
    helpers = friends(RACERS)

    results = race(RACERS, lambda i: helping.give_help(task=task, helper=helpers[i]))

    given = [r for r in results if isinstance(r, Help)]
    refused = [r for r in results if isinstance(r, HelpRefused)]
    assert len(given) == 5 and len(refused) == RACERS - 5, results
    assert all(r.reason == "completed" for r in refused)
    assert sorted(h.number for h in given) == [1, 2, 3, 4, 5]
    task.refresh_from_db()
    assert (task.state, task.help_count) == (HelpTaskState.COMPLETED, 5)
    assert task.reward_granted_at is not None and Help.objects.filter(task=task).count() == 5


def test_control_the_race_is_real_without_the_guard(monkeypatch):
    task = _task(k=5)
    helpers = friends(RACERS)
    gate = Gate(RACERS)

    def naive_claim(task_id, *, now):
        seen = HelpTask.objects.get(pk=task_id)
        gate.wait()  # everyone reads before anyone writes
        if seen.state == HelpTaskState.OPEN and seen.help_count < seen.helps_needed:
            HelpTask.objects.filter(pk=task_id).update(help_count=seen.help_count + 1)
            return seen.help_count + 1
        return None

    monkeypatch.setattr(helping, "_claim_place", naive_claim)
    results = race(RACERS, lambda i: helping.give_help(task=task, helper=helpers[i]))

    # Every racer was handed place 1: only the unique index on (task, number) stopped eleven of them, so
    # friends were refused while four places were still free.
    assert sum(isinstance(r, Help) for r in results) == 1
    assert any(isinstance(r, IntegrityError | HelpRefused) for r in results)
    task.refresh_from_db()
    assert task.state == HelpTaskState.OPEN and task.help_count == 1


def _holding_after_the_check(monkeypatch, hold):
    """Make give_help's check (help_problem) call `hold(problem)` after it ran: the test decides when each
    tap goes on to write, instead of the scheduler."""
    real_check = helping.help_problem

    def check_then_hold(task, user, **kwargs):
        problem = real_check(task, user, **kwargs)
        hold(problem)
        return problem

    monkeypatch.setattr(helping, "help_problem", check_then_hold)


def test_one_friend_tapping_twice_at_once_helps_once(monkeypatch):
    task = _task(k=5)
    friend = friends(1)[0]
    taps = 6
    gate = Gate(taps)
    passed = []
    # Every tap passes the check before any of them writes, so all six are provably concurrent and the
    # guards behind the check (the task's row, the unique indexes) are what decide.
    _holding_after_the_check(monkeypatch, lambda problem: (passed.append(problem), gate.wait()))

    results = race(taps, lambda i: helping.give_help(task=task, helper=friend))

    assert passed == [None] * taps  # control: the check let every tap through
    assert sum(isinstance(r, Help) for r in results) == 1, results
    assert all(r.reason == "duplicate" for r in results if isinstance(r, HelpRefused)), results
    task.refresh_from_db()
    assert task.help_count == 1 == Help.objects.filter(task=task).count()


def test_a_tap_that_counts_after_the_other_one_committed_is_a_duplicate_not_over_the_allowance(monkeypatch):
    task = _task(k=5)
    friend = friends(1)[0]
    second_checked, first_committed = threading.Event(), threading.Event()
    calls = itertools.count()

    def hold(problem):
        if next(calls) == 0:  # the second tap: checked, then waits until the first one has committed
            second_checked.set()
            assert first_committed.wait(30)

    _holding_after_the_check(monkeypatch, hold)

    def tap(i):
        if i == 1:
            return helping.give_help(task=task, helper=friend)
        assert second_checked.wait(30)
        try:
            return helping.give_help(task=task, helper=friend)
        finally:
            first_committed.set()

    first, second = race(2, tap)

    assert isinstance(first, Help), first
    assert isinstance(second, HelpRefused) and second.reason == "duplicate", second


def test_the_expiry_job_run_concurrently_expires_each_task_once():
    tasks = [_task() for _ in range(4)]
    later = max(t.expires_at for t in tasks)

    results = race(4, lambda i: helping.expire_due_tasks(now=later))

    assert sum(results) == 4, results
    assert HelpTask.objects.filter(state=HelpTaskState.EXPIRED).count() == 4


def test_the_last_help_and_the_expiry_never_both_win():
    task = _task(k=1)
    friend = friends(1)[0]
    now = task.expires_at  # the job's clock says expired; the friend's says one second before

    from datetime import timedelta

    results = race(
        2,
        lambda i: (
            helping.give_help(task=task, helper=friend, now=now - timedelta(seconds=1))
            if i == 0
            else helping.expire_task(task.pk, now=now)
        ),
    )

    task.refresh_from_db()
    helped = isinstance(results[0], Help)
    assert helped != (results[1] == 1), results
    assert task.state == (HelpTaskState.COMPLETED if helped else HelpTaskState.EXPIRED)


def test_one_friend_helping_many_tasks_at_once_stays_within_their_allowance():
    shop = ShopFactory()
    campaign = help_campaign(shop, settings={"helps_per_helper": 2})
    tasks = [helping.start_task(campaign=campaign, member=starter_in(shop)[0]) for _ in range(4)]
    friend = friends(1)[0]

    results = race(4, lambda i: helping.give_help(task=tasks[i], helper=friend))

    given = [r for r in results if isinstance(r, Help)]
    assert len(given) == 2, results
    assert sorted(h.helper_slot for h in given) == [1, 2]
    assert all(r.reason == "helper_limit" for r in results if isinstance(r, HelpRefused))


def test_a_help_locks_the_task_only_after_its_act_and_the_referral_binding(monkeypatch):
    """The act, its checks, activity, referral events and a newcomer's binding are written before the
    task's row is locked; the K-th help completes the task and grants the reward in the locking UPDATE."""
    from campaigns import services
    from referrals.models import ReferralEdge
    from tests.factories import UserFactory
    from tests.race import lock_elsewhere

    task = _task(k=1)
    newcomer = UserFactory()  # brand new: the help binds them to the starter
    probes = {}
    real_record_act, real_claim = services.record_act, helping._claim_place

    def record_act_then_probe(**kwargs):
        act = real_record_act(**kwargs)
        probes["after the act"] = lock_elsewhere(HelpTask, task.pk)
        return act

    def claim_then_probe(task_id, **kwargs):
        place = real_claim(task_id, **kwargs)
        probes["after the claim"] = lock_elsewhere(HelpTask, task_id)
        return place

    monkeypatch.setattr(services, "record_act", record_act_then_probe)
    monkeypatch.setattr(helping, "_claim_place", claim_then_probe)
    given = helping.give_help(task=task, helper=newcomer)

    assert probes["after the act"] == "free"
    assert probes["after the claim"].startswith("locked"), probes
    assert ReferralEdge.objects.filter(invitee=newcomer, inviter=task.starter).count() == 1
    task.refresh_from_db()
    assert given.number == 1 and task.state == HelpTaskState.COMPLETED
    assert task.completed_at == task.reward_granted_at is not None
