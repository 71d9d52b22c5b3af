"""Lurkers (潜水成员): members silent for the shop's lurker days; each gets at most one polite private
follow-up per period, however often the job runs (or two run at once)."""

import pytest
from django.db.models import F

from groups.activity import record_activity
from groups.jobs import follow_up_lurkers, lurkers
from groups.models import ActivityKind, AutomationSettings, LurkerFollowUp, MemberRole, Membership
from groups.services import leave, set_role
from notifications.models import Notification
from tests.builders.groups import DAY, with_members
from tests.factories import shop_owner
from tests.race import race

pytestmark = pytest.mark.django_db


def silent_for(membership, days, now):
    Membership.objects.filter(pk=membership.pk).update(last_active_at=now - days * DAY, joined_at=now - 60 * DAY)


def follow_up_messages(membership=None):
    qs = Notification.objects.filter(kind="lurker_follow_up")
    return qs.filter(user_id=membership.user_id) if membership else qs


@pytest.fixture
def scene(group, now):
    silent, talkative, owner, gone = with_members(group, 4)
    for m in (silent, owner, gone):
        silent_for(m, 20, now)
    silent_for(talkative, 3, now)
    set_role(membership=owner, by=shop_owner(owner.group.shop), role=MemberRole.OWNER)
    leave(membership=gone)
    return silent, talkative, owner


def test_a_lurker_is_an_ordinary_member_silent_for_fourteen_days(group, scene, now):
    silent, _talkative, _owner = scene
    assert list(lurkers(group_ids=[group.pk], now=now, lurker_days=14)) == [silent]
    assert list(lurkers(group_ids=[group.pk], now=now, lurker_days=21)) == []


def test_any_recorded_activity_ends_the_silence(group, scene, now):
    silent = scene[0]
    record_activity(group_id=group.pk, user_id=silent.user_id, kind=ActivityKind.MESSAGE_OPENED, at=now - DAY)
    assert not lurkers(group_ids=[group.pk], now=now, lurker_days=14).exists()


def test_each_lurker_gets_one_follow_up_per_period(scene, now):
    silent, talkative, _owner = scene
    assert follow_up_lurkers(now=now) == 1
    assert follow_up_lurkers(now=now) == 0
    assert follow_up_lurkers(now=now + 10 * DAY) == 0  # same period (30 days)
    message = follow_up_messages(silent).get()
    assert message.category == "marketing"
    assert "想你了" in message.title
    # Next period: still silent, and the talkative one has now been silent for a month too.
    assert follow_up_lurkers(now=now + 31 * DAY) == 2
    assert follow_up_messages(silent).count() == 2
    assert follow_up_messages(talkative).count() == 1
    assert LurkerFollowUp.objects.filter(membership=silent).count() == 2


def test_shortening_the_period_does_not_send_a_second_message_within_a_period(shop, scene, now):
    follow_up_lurkers(now=now)
    AutomationSettings.objects.create(shop=shop, lurker_follow_up_days=7)
    assert follow_up_lurkers(now=now + 2 * DAY) == 0  # a new period number, but a message 2 days ago
    assert follow_up_lurkers(now=now + 8 * DAY) == 1


def test_the_shop_can_turn_follow_ups_off(shop, scene, now):
    AutomationSettings.objects.create(shop=shop, lurker_follow_up_enabled=False)
    assert follow_up_lurkers(now=now) == 0
    assert not follow_up_messages().exists()


def test_lurkers_of_an_archived_group_are_left_in_peace(group, scene, now):
    type(group).objects.filter(pk=group.pk).update(state="archived")
    assert follow_up_lurkers(now=now) == 0


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_lurker_one_message(group, now):
    members = with_members(group, 5)
    Membership.objects.filter(pk__in=[m.pk for m in members]).update(
        last_active_at=now - 20 * DAY, joined_at=F("last_active_at")
    )
    results = race(3, lambda i: follow_up_lurkers(now=now))
    assert sum(results) == 5, results
    assert LurkerFollowUp.objects.count() == 5
    assert follow_up_messages().count() == 5
