"""Races on broadcasts, in real transactions: two broadcasts at once never take a member past the cap (the
members' preference rows are locked while a batch is decided and released), and a broadcast is sent once
(draft → sending by one conditional UPDATE). Each has a control that removes the guard and sees the race."""

import pytest
from django.core.exceptions import ValidationError

from notifications import marketing
from notifications.models import Notification
from segments import services
from segments.models import Broadcast, BroadcastState
from shops.models import AuditEntry
from tests.builders.notifications import noon
from tests.race import Gate, race
from tests.segments.support import joined

pytestmark = pytest.mark.django_db(transaction=True)


def _two_broadcasts(shop, owner, group):
    return [
        services.create_broadcast(shop=shop, by=owner, title=f"消息 {i}", body="群内专享。", group=group)
        for i in range(2)
    ]


def _messages_per_member(members) -> list[int]:
    return [Notification.objects.filter(kind="broadcast", user=m).count() for m in members]


def test_two_broadcasts_at_once_keep_each_member_within_the_cap(shop, owner, group):
    members = [joined(group) for _ in range(5)]
    now = noon()  # the default cap: one commercial message a day
    first, second = _two_broadcasts(shop, owner, group)
    race(2, lambda i: services.send_broadcast(broadcast=(first, second)[i], by=owner, now=now))
    assert _messages_per_member(members) == [1] * 5
    sent = Broadcast.objects.filter(pk__in=[first.pk, second.pk])
    assert sum(b.sent_count for b in sent) + sum(b.capped_count for b in sent) == 2 * len(
        services.audience_ids(first, now=now)
    )


def test_control_deciding_without_the_locks_sends_past_the_cap(shop, owner, group, monkeypatch):
    members = [joined(group) for _ in range(5)]
    now = noon()
    first, second = _two_broadcasts(shop, owner, group)
    gate, decide = Gate(2), marketing.decide

    def unlocked(*args, **kwargs):
        answers = decide(*args, **{**kwargs, "lock": False})
        gate.wait()  # both have counted before either has sent
        return answers

    monkeypatch.setattr(marketing, "decide", unlocked)
    race(2, lambda i: services.send_broadcast(broadcast=(first, second)[i], by=owner, now=now))
    assert _messages_per_member(members) == [2] * 5


def test_control_a_check_then_act_claim_sends_twice(shop, owner, group, monkeypatch):
    """The guarded claim is tested in test_broadcast.py (two sends: one refused). Without it, both go."""
    [joined(group) for _ in range(3)]
    broadcast = services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=group)
    gate = Gate(2)

    def naive_claim(target, by, now):
        fresh = Broadcast.objects.get(pk=target.pk)
        gate.wait()  # both have read "draft"
        if fresh.state != BroadcastState.DRAFT:
            return False
        Broadcast.objects.filter(pk=target.pk).update(state=BroadcastState.SENDING, sent_by=by, sent_at=now)
        return True

    monkeypatch.setattr(services, "_claim", naive_claim)
    outcomes = race(2, lambda _i: services.send_broadcast(broadcast=broadcast, by=owner, now=noon()))
    assert not any(isinstance(o, ValidationError) for o in outcomes)  # both "sent" it


def test_the_claim_records_one_send(shop, owner, group):
    [joined(group) for _ in range(3)]
    broadcast = services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=group)
    race(2, lambda _i: services.send_broadcast(broadcast=Broadcast.objects.get(pk=broadcast.pk), by=owner, now=noon()))
    assert AuditEntry.objects.filter(action="segments.broadcast.send").count() == 1
