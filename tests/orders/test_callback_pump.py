"""The simulated provider's callback pump never posts inside a transaction or while holding row locks.

These tests commit for real (transactional_db): the probe is another PostgreSQL connection that tries
to lock the row being posted with NOWAIT while the post is in progress. If the pump still held the row
(or any open transaction around the post), the probe fails at once instead of waiting.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from orders.models import SimulatedCharge, SimulatedNotificationOutbox
from orders.payments.simulated import LEASE, MAX_ATTEMPTS, deliver_due, settle
from orders.services import start_payment
from tests.builders.orders import order_for
from tests.race import lock_elsewhere, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.race]


def _queued_callback(buyer, buyer_group, sku) -> SimulatedNotificationOutbox:
    payment, _url = start_payment(order=order_for(buyer, buyer_group, sku))
    settle(SimulatedCharge.objects.get(reference=payment.provider_ref), succeeded=True)
    return SimulatedNotificationOutbox.objects.get(reference=payment.provider_ref)


class Receiver:
    """A callback receiver that looks at the pump while each post is in progress."""

    def __init__(self, status: int = 200):
        self.status = status
        self.seen = []

    def __call__(self, url, body, headers):
        row = SimulatedNotificationOutbox.objects.filter(signature=headers["X-Simulated-Signature"]).first()
        self.seen.append(
            {
                "in_transaction": connection.in_atomic_block,
                "leased": row.lease_until is not None,  # committed: this connection is outside any transaction
                "probe": lock_elsewhere(SimulatedNotificationOutbox, row.pk),
            }
        )
        return self.status


def test_callback_is_posted_after_the_claim_commits_and_holds_no_lock(buyer, buyer_group, sku):
    row = _queued_callback(buyer, buyer_group, sku)
    receiver = Receiver()
    assert deliver_due(post=receiver) == 1
    # Another connection could lock and write the row while it was being posted.
    assert receiver.seen == [{"in_transaction": False, "leased": True, "probe": "free"}]
    row.refresh_from_db()
    assert row.delivered_at is not None and row.lease_until is None and row.attempts == 1


def test_a_failed_post_is_recorded_after_it_outside_the_claim(buyer, buyer_group, sku):
    row = _queued_callback(buyer, buyer_group, sku)
    receiver = Receiver(status=500)
    assert deliver_due(post=receiver) == 0
    assert receiver.seen == [{"in_transaction": False, "leased": True, "probe": "free"}]
    row.refresh_from_db()
    assert row.delivered_at is None and row.lease_until is None
    assert row.attempts == 1 and row.last_error == "HTTP 500" and row.deliver_after > timezone.now()


def test_control_the_probe_sees_a_post_made_inside_a_transaction(buyer, buyer_group, sku):
    """Control: run by a caller that holds a transaction open, the claim's lock lasts across the post,
    and the probe reports it (so the tests above would catch a pump that posts under its lock)."""
    _queued_callback(buyer, buyer_group, sku)
    receiver = Receiver()
    with transaction.atomic():
        deliver_due(post=receiver)
    assert receiver.seen[0]["in_transaction"] is True
    assert receiver.seen[0]["probe"].startswith("locked")


def test_two_pumps_at_once_post_each_callback_once(buyer, buyer_group, sku, monkeypatch):
    monkeypatch.setattr("orders.payments.simulated.CLAIM_CHUNK", 2)  # both pumps get rows to post
    rows = [_queued_callback(buyer, buyer_group, sku) for _ in range(6)]
    posted = []
    gate = threading.Barrier(2, timeout=30)

    def post(url, body, headers):
        posted.append(headers["X-Simulated-Signature"])
        if len(posted) == 1:
            gate.wait()  # the first post waits until the other pump has claimed: both run at once
        return 200

    def pump(i):
        if i == 1:
            gate.wait()
        return deliver_due(post=post)

    results = race(2, pump)
    assert sorted(posted) == sorted(row.signature for row in rows) and sum(results) == 6


def test_a_row_whose_pump_died_mid_post_is_sent_again_after_its_lease(buyer, buyer_group, sku):
    row = _queued_callback(buyer, buyer_group, sku)
    now = timezone.now()
    SimulatedNotificationOutbox.objects.filter(pk=row.pk).update(attempts=1, lease_until=now + LEASE)
    assert deliver_due(post=Receiver()) == 0  # still leased to the pump that claimed it
    assert deliver_due(post=Receiver(), now=now + LEASE + timedelta(seconds=1)) == 1
    row.refresh_from_db()
    assert row.attempts == 2 and row.delivered_at is not None


def test_gives_up_after_the_last_attempt(buyer, buyer_group, sku):
    row = _queued_callback(buyer, buyer_group, sku)
    receiver = Receiver(status=500)
    at = timezone.now()
    for _ in range(MAX_ATTEMPTS + 2):
        deliver_due(post=receiver, now=at)
        at += timedelta(seconds=2**MAX_ATTEMPTS + 1)
    row.refresh_from_db()
    assert len(receiver.seen) == MAX_ATTEMPTS and row.attempts == MAX_ATTEMPTS and row.delivered_at is None
