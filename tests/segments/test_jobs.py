"""The segments' periodic jobs, as beat runs them: each under its lease, recorded; the tag job twice at once
tags each member once; the broadcast job finishes a send cut short and leaves a recent one to its request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from segments import services, tagging, tasks
from segments.models import Broadcast, BroadcastState, MemberTag, RuleKind
from shequn.models import JobRun, JobRunStatus
from tests.race import race
from tests.segments.support import joined, paid


@pytest.mark.django_db
def test_the_tag_job_runs_under_its_lease_and_is_recorded(shop, owner, group):
    buyers = [joined(group) for _ in range(3)]
    for buyer in buyers[:2]:
        paid(buyer, group, "20.00")
        paid(buyer, group, "20.00")
    services.create_tag_rule(shop=shop, by=owner, tag_name="复购", kind=RuleKind.REPEAT_BUYER)
    assert tasks.recompute_auto_tags() == 2
    assert tasks.recompute_auto_tags() == 0  # nothing changed: nothing written
    assert set(MemberTag.objects.values_list("user_id", flat=True)) == {b.pk for b in buyers[:2]}
    runs = JobRun.objects.filter(job="auto-tags")
    assert runs.count() == 2 and set(runs.values_list("status", flat=True)) == {JobRunStatus.SUCCEEDED}


@pytest.mark.django_db
def test_the_broadcast_job_finishes_only_sends_cut_short(shop, owner, group):
    [joined(group) for _ in range(3)]
    stuck = services.create_broadcast(shop=shop, by=owner, title="t", body="b", group=group)
    recent = services.create_broadcast(shop=shop, by=owner, title="u", body="b", group=group)
    now = timezone.now()
    Broadcast.objects.filter(pk=stuck.pk).update(state=BroadcastState.SENDING, sent_at=now - timedelta(minutes=30))
    Broadcast.objects.filter(pk=recent.pk).update(state=BroadcastState.SENDING, sent_at=now - timedelta(minutes=1))
    assert tasks.finish_broadcasts() == 1
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.state == BroadcastState.SENT and stuck.sent_count + stuck.excluded_count == 3
    assert recent.state == BroadcastState.SENDING


@pytest.mark.django_db(transaction=True)
def test_two_tag_runs_at_once_tag_each_member_once(shop, owner, group):
    buyers = [joined(group) for _ in range(4)]
    for buyer in buyers:
        paid(buyer, group, "200.00")
    rule = services.create_tag_rule(shop=shop, by=owner, tag_name="百元", kind=RuleKind.SPENT_OVER, amount=100)
    outcomes = race(3, lambda _i: tagging.recompute_rule(rule))
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sum(added for added, _removed in outcomes) == 4
    assert MemberTag.objects.filter(rule=rule).count() == 4
