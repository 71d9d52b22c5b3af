"""The frequency cap is decided in the database at send time: two workers delivering two marketing
messages to one member at once, cap 1 a day → exactly one is sent, the other is dropped as capped.
The same for two batches over the same members: the members' locks are taken with one statement per
batch and the cap counted after them. The controls show the races are real: without the member locks,
both go out."""

import itertools

import pytest

from notifications import services
from notifications.models import HoldReason, Notification, NotificationState, Preference
from tests.builders.notifications import noon, write
from tests.factories import UserFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def both_claimed_before_either_decides(monkeypatch, *, lock: bool):
    """Each racer claims its own notifications (SKIP LOCKED), then waits for the other at the gate, so
    both decide at the same moment. Only the first decision of each racer waits."""
    gate, first_two = Gate(2), itertools.count()
    original_lock = services._lock_members
    original_counts = services._cap_counts

    if lock:

        def lock_members(pairs):
            if next(first_two) < 2:
                gate.wait()
            return original_lock(pairs)

        monkeypatch.setattr(services, "_lock_members", lock_members)
    else:

        def no_lock(pairs):
            return {pair: Preference.objects.get_or_create(user_id=pair[0], shop_id=pair[1])[0] for pair in pairs}

        def count_then_wait(*args):
            counts = original_counts(*args)
            if next(first_two) < 2:
                gate.wait()  # both have counted before either marks one sent
            return counts

        monkeypatch.setattr(services, "_lock_members", no_lock)
        monkeypatch.setattr(services, "_cap_counts", count_then_wait)


def two_workers_deliver_two_marketing_messages(shop, customer):
    write(shop, customer), write(shop, customer)
    at = noon()
    results = race(2, lambda i: services.release_due(now=at, batch=1))  # one each
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


def test_two_workers_one_member_cap_one_exactly_one_is_sent(shop, customer, monkeypatch):
    both_claimed_before_either_decides(monkeypatch, lock=True)

    results = two_workers_deliver_two_marketing_messages(shop, customer)

    assert sorted(Notification.objects.values_list("state", flat=True)) == [
        NotificationState.CAPPED,
        NotificationState.SENT,
    ]
    assert Notification.objects.get(state=NotificationState.CAPPED).reason == HoldReason.CAPPED  # visibly, not silently
    assert sorted((r.released, r.capped) for r in results) == [(0, 1), (1, 0)]  # each worker took one


def test_control_without_the_member_lock_both_are_sent(shop, customer, monkeypatch):
    Preference.objects.create(user=customer, shop=shop)  # the race is then only between counting and sending
    both_claimed_before_either_decides(monkeypatch, lock=False)

    two_workers_deliver_two_marketing_messages(shop, customer)

    assert list(Notification.objects.values_list("state", flat=True)) == [
        NotificationState.SENT,
        NotificationState.SENT,
    ]  # over the cap


MEMBERS = 8


def two_batches_over_the_same_members(shop):
    """Each member has two marketing messages; the first of every member is written before any second,
    so one racer's batch claims the firsts and the other's the seconds (SKIP LOCKED)."""
    people = UserFactory.create_batch(MEMBERS)
    for member in people:
        Preference.objects.create(user=member, shop=shop)
    for _round in range(2):
        for member in people:
            write(shop, member)
    at = noon()
    results = race(2, lambda i: services.release_due(now=at, batch=MEMBERS))
    assert not [r for r in results if isinstance(r, Exception)], results
    return people, results


def test_two_batches_over_the_same_members_never_exceed_the_cap(shop, monkeypatch):
    both_claimed_before_either_decides(monkeypatch, lock=True)

    people, results = two_batches_over_the_same_members(shop)

    for member in people:
        assert sorted(Notification.objects.filter(user=member).values_list("state", flat=True)) == [
            NotificationState.CAPPED,
            NotificationState.SENT,
        ]
    assert sorted((r.released, r.capped) for r in results) == [(0, MEMBERS), (MEMBERS, 0)]  # a batch each


def test_control_without_the_member_locks_two_batches_go_over_the_cap(shop, monkeypatch):
    both_claimed_before_either_decides(monkeypatch, lock=False)

    people, results = two_batches_over_the_same_members(shop)

    assert Notification.objects.filter(state=NotificationState.SENT).count() == 2 * MEMBERS  # over the cap
