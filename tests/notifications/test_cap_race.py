"""The frequency cap is decided in the database at send time: two workers delivering two marketing
messages to one member at once, cap 1 a day → exactly one is sent, the other is dropped as capped.
The control shows the race is real: without the member lock, both go out."""

import itertools

import pytest

from notifications import services
from notifications.models import HoldReason, Notification, NotificationState, Preference
from tests.builders.notifications import noon, write
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
NS = NotificationState


def both_claimed_before_either_decides(monkeypatch, *, lock: bool):
    """Each racer claims its own notification (SKIP LOCKED), then waits for the other at the gate, so
    both decide at the same moment. Only the first decision of each racer waits."""
    gate, first_two = Gate(2), itertools.count()
    original_lock = services._lock_member
    original_is_capped = services.is_capped

    if lock:

        def lock_member(user_id, shop_id):
            if next(first_two) < 2:
                gate.wait()
            return original_lock(user_id, shop_id)

        monkeypatch.setattr(services, "_lock_member", lock_member)
    else:

        def no_lock(user_id, shop_id):
            return Preference.objects.get_or_create(user_id=user_id, shop_id=shop_id)[0]

        def count_then_wait(*args):
            capped = original_is_capped(*args)
            if next(first_two) < 2:
                gate.wait()  # both have counted before either marks one sent
            return capped

        monkeypatch.setattr(services, "_lock_member", no_lock)
        monkeypatch.setattr(services, "is_capped", count_then_wait)


def two_workers_deliver_two_marketing_messages(shop, customer):
    write(shop, customer), write(shop, customer)
    at = noon()
    results = race(2, lambda i: services.release_due(now=at))
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


def test_two_workers_one_member_cap_one_exactly_one_is_sent(shop, customer, monkeypatch):
    both_claimed_before_either_decides(monkeypatch, lock=True)

    results = two_workers_deliver_two_marketing_messages(shop, customer)

    assert sorted(Notification.objects.values_list("state", flat=True)) == [NS.CAPPED, NS.SENT]
    assert Notification.objects.get(state=NS.CAPPED).reason == HoldReason.CAPPED  # visibly, not silently
    assert sorted((r.released, r.capped) for r in results) == [(0, 1), (1, 0)]  # each worker took one


def test_control_without_the_member_lock_both_are_sent(shop, customer, monkeypatch):
    Preference.objects.create(user=customer, shop=shop)  # the race is then only between counting and sending
    both_claimed_before_either_decides(monkeypatch, lock=False)

    two_workers_deliver_two_marketing_messages(shop, customer)

    assert list(Notification.objects.values_list("state", flat=True)) == [NS.SENT, NS.SENT]  # over the cap
