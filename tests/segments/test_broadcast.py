"""群发: the preview's counts are the messages the send queues, with opt-outs, after-sales cases, quiet hours
and caps; one message per member per broadcast; a broadcast is sent once."""

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Category, Notification, NotificationState
from segments import services
from segments.models import Broadcast, BroadcastRecipient, BroadcastState
from tests.builders.notifications import noon
from tests.race import race
from tests.segments.support import capped, in_after_sales, joined, opted_out, quiet_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(shop, group):
    """Nine members of the group: three will receive, one of each exclusion, and two more in quiet hours."""
    now = noon()
    people = {name: joined(group) for name in ("a", "b", "c", "out", "aftersales", "quiet1", "quiet2", "cap")}
    people["owner_of_nothing"] = joined(group)
    opted_out(people["out"], shop)
    in_after_sales(people["aftersales"], group)
    quiet_now(people["quiet1"], shop, now)
    quiet_now(people["quiet2"], shop, now)
    capped(people["cap"], shop, now)
    return people, now


def _draft(shop, owner, group):
    return services.create_broadcast(shop=shop, by=owner, title="新品到货", body="有机小米今天到货。", group=group)


def test_preview_counts_equal_the_messages_queued(shop, owner, group, crowd):
    people, now = crowd
    broadcast = _draft(shop, owner, group)
    audience = services.audience_ids(broadcast, now=now)
    assert set(people[name].pk for name in people) <= set(audience)

    seen = services.preview(broadcast, now=now)
    assert seen["opted_out"] == 1 and seen["after_sales"] == 1 and seen["capped"] == 1 and seen["quiet_hours"] == 2
    assert seen["send"] + 5 == seen["audience"] == len(audience)

    sent = services.send_broadcast(broadcast=broadcast, by=owner, now=now)
    queued = Notification.objects.filter(kind="broadcast", key__startswith=f"broadcast:{broadcast.pk}:")
    assert queued.count() == seen["send"]
    assert set(queued.values_list("state", flat=True)) == {NotificationState.SENT}
    assert set(queued.values_list("category", flat=True)) == {Category.MARKETING}
    assert not queued.filter(user__in=[people[n] for n in ("out", "aftersales", "quiet1", "quiet2", "cap")]).exists()
    assert (
        sent.sent_count,
        sent.opted_out_count,
        sent.after_sales_count,
        sent.quiet_hours_count,
        sent.capped_count,
    ) == (
        seen["send"],
        seen["opted_out"],
        seen["after_sales"],
        seen["quiet_hours"],
        seen["capped"],
    )
    assert sent.state == BroadcastState.SENT
    assert BroadcastRecipient.objects.filter(broadcast=broadcast).count() == seen["audience"]
    # The cap was taken by the send: a second broadcast now reaches nobody who just got one.
    again = services.preview(_draft(shop, owner, group), now=now)
    assert again["send"] == 0 and again["capped"] == seen["send"] + 1


def test_a_broadcast_is_sent_once(shop, owner, group, crowd):
    _people, now = crowd
    broadcast = _draft(shop, owner, group)
    services.send_broadcast(broadcast=broadcast, by=owner, now=now)
    with pytest.raises(ValidationError):
        services.send_broadcast(broadcast=broadcast, by=owner, now=now)
    before = Notification.objects.filter(kind="broadcast").count()
    # Finishing it again (the job, after a crash) decides nobody twice.
    services.finish_sending(broadcast=Broadcast.objects.get(pk=broadcast.pk), now=now)
    assert Notification.objects.filter(kind="broadcast").count() == before


def test_an_audience_of_a_segment(shop, owner, group, crowd):
    people, now = crowd
    segment = services.save_segment(shop=shop, by=owner, name="全部", min_orders=1)
    broadcast = services.create_broadcast(shop=shop, by=owner, title="老客专享", body="回馈老客户。", segment=segment)
    # Only the after-sales member has a paid order: the segment is them alone, left out by their case.
    assert services.audience_ids(broadcast, now=now) == [people["aftersales"].pk]
    seen = services.preview(broadcast, now=now)
    assert seen == {"send": 0, "opted_out": 0, "after_sales": 1, "quiet_hours": 0, "capped": 0, "audience": 1}


def test_the_draft_names_one_audience_of_the_shop(shop, owner, group, other_shop):
    from tests.factories import GroupFactory

    with pytest.raises(ValidationError):
        services.create_broadcast(shop=shop, by=owner, title="t", body="b")
    with pytest.raises(ValidationError):
        services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=GroupFactory(shop=other_shop))


@pytest.mark.django_db(transaction=True)
def test_two_sends_at_once_send_one_message_per_member(shop, owner, group):
    members = [joined(group) for _ in range(6)]
    now = noon()
    broadcast = _draft(shop, owner, group)
    outcomes = race(
        2, lambda _i: services.send_broadcast(broadcast=Broadcast.objects.get(pk=broadcast.pk), by=owner, now=now)
    )
    assert sum(isinstance(o, ValidationError) for o in outcomes) == 1
    for member in members:
        assert Notification.objects.filter(kind="broadcast", user=member).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_batches_of_one_broadcast_at_once_decide_each_member_once(shop, owner, group):
    """The recipient rows, not the broadcast's state, keep a member to one message: two finishing runs at once
    (a crashed request's job and the request itself)."""
    members = [joined(group) for _ in range(6)]
    now = noon()
    broadcast = _draft(shop, owner, group)
    Broadcast.objects.filter(pk=broadcast.pk).update(state=BroadcastState.SENDING, sent_at=now)
    race(3, lambda _i: services.finish_sending(broadcast=Broadcast.objects.get(pk=broadcast.pk), now=now))
    for member in members:
        assert Notification.objects.filter(kind="broadcast", user=member).count() == 1
    assert Broadcast.objects.get(pk=broadcast.pk).sent_count == len(services.audience_ids(broadcast, now=now))
