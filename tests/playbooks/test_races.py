"""Job runs racing on the same due steps: the conditional UPDATE that claims a step lets exactly one of them
perform it (one announcement, one campaign, one message per member). The control replaces the claim by a
check-then-act in which every racer reads before anyone writes: each then performs the step."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from groups.space_models import PostKind, SpacePost
from notifications.models import Notification
from playbooks import services
from playbooks.models import RunStep, RunStepState
from tests.factories import ShopFactory
from tests.playbooks.scene import make_playbook, new_group
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 4
MEMBERS = 3


def _scene():
    shop = ShopFactory()
    make_playbook(shop)
    group = new_group(shop, members=MEMBERS)
    # day 2, noon: the welcome message, both announcements and the ¥1 group buy are due
    return group, timezone.make_aware(datetime.combine(group.playbook_run.day0 + timedelta(days=2), time(12)))


def test_concurrent_job_runs_perform_each_step_exactly_once():
    group, now = _scene()

    results = race(RACERS, lambda i: services.run_due_steps(now=now))

    assert sum(results) == 4, results  # four automatic steps were due, each performed by one racer
    assert SpacePost.objects.filter(group=group, kind=PostKind.ANNOUNCEMENT).count() == 2
    assert Campaign.objects.filter(groups=group).count() == 1
    assert Notification.objects.filter(kind="playbook_message").count() == MEMBERS
    due = RunStep.objects.filter(run__group=group, due_at__lte=now, action__in=["message", "announcement", "campaign"])
    assert set(due.values_list("state", flat=True)) == {RunStepState.DONE}


def test_control_a_check_then_act_claim_performs_a_step_once_per_racer(monkeypatch):
    group, now = _scene()
    gate = Gate(RACERS)

    def check_then_act(step_id, at):
        due = RunStep.objects.filter(pk=step_id, state=RunStepState.PENDING, due_at__lte=at).exists()
        gate.wait()  # every racer has read "pending" before anyone writes
        if due:
            RunStep.objects.filter(pk=step_id).update(state=RunStepState.DONE, done_at=at)
        return due

    monkeypatch.setattr(services, "claim", check_then_act)
    monkeypatch.setattr(services, "BATCH", 1)  # one step at a time, so every racer meets at each step's gate

    race(RACERS, lambda i: services.run_due_steps(now=now))

    assert SpacePost.objects.filter(group=group, kind=PostKind.ANNOUNCEMENT).count() == 2 * RACERS
    assert Campaign.objects.filter(groups=group).count() == RACERS
