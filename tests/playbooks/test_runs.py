"""A new group gets its playbook when created, and the job performs each automatic step once, on time."""

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign
from groups.models import MembershipStatus
from groups.space_models import PostKind, SpacePost
from notifications.models import Notification
from playbooks import services
from playbooks.models import PlaybookRun, RunStep, RunStepState, StepAction
from shops.models import AuditEntry
from tests.factories import TagFactory, shop_owner
from tests.playbooks.scene import AUTOMATIC, STEPS, make_playbook, new_group

pytestmark = pytest.mark.django_db


def at(day0, day: int, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day0 + timedelta(days=day), time(hour, minute)))


def test_a_new_group_gets_the_default_playbook_with_a_step_row_each(shop):
    playbook = make_playbook(shop)

    group = new_group(shop)

    run = PlaybookRun.objects.get(group=group)
    assert run.playbook == playbook and run.day0 == timezone.localdate(group.created_at)
    steps = list(run.steps.order_by("position"))
    assert [(s.day, s.action, s.state) for s in steps] == [(s["day"], s["action"], "pending") for s in STEPS]
    assert steps[0].due_at == at(run.day0, 0, 9)
    assert steps[-1].due_at == at(run.day0, 7, 9, 30)


def test_a_tag_match_wins_over_a_kind_match_and_both_over_the_default(shop):
    tag = TagFactory(shop=shop, name="宝妈")
    make_playbook(shop, name="默认")
    by_kind = make_playbook(shop, name="按类型", match_kind="学习", is_default=False)
    by_tag = make_playbook(shop, name="按标签", match_tag=tag, is_default=False)

    tagged = new_group(shop, name="甲", members=0, kind="学习", tags=[tag])
    kinded = new_group(shop, name="乙", members=0, kind="学习")
    plain = new_group(shop, name="丙", members=0)

    assert tagged.playbook_run.playbook == by_tag
    assert kinded.playbook_run.playbook == by_kind
    assert plain.playbook_run.playbook.name == "默认"


def test_no_playbook_no_run_and_an_inactive_one_is_not_given(shop):
    playbook = make_playbook(shop)
    services.save_playbook(
        shop=shop,
        by=shop_owner(shop),
        playbook=playbook,
        name=playbook.name,
        description="",
        match_tag=None,
        match_kind="",
        is_default=True,
        is_active=False,
    )
    group = new_group(shop, members=0)
    assert not PlaybookRun.objects.filter(group=group).exists()


def test_seven_simulated_days_each_automatic_step_exactly_once(shop):
    """The clock moves every hour for eight days; the job runs twice at every tick."""
    make_playbook(shop)
    group = new_group(shop, members=3)
    run = group.playbook_run
    start = at(run.day0, 0, 0)
    performed = []
    for hour in range(0, 8 * 24 + 1):
        now = start + timedelta(hours=hour)
        performed.append(services.run_due_steps(now=now))
        assert services.run_due_steps(now=now) == 0  # the second run at the same time finds nothing
        # nothing runs before it is due
        assert not RunStep.objects.filter(run=run, state=RunStepState.DONE, due_at__gt=now).exists()

    assert sum(performed) == len(AUTOMATIC)
    steps = {s.position: s for s in run.steps.all()}
    for position, spec in enumerate(STEPS, start=1):
        step = steps[position]
        if spec["action"] == StepAction.TASK:
            assert step.state == RunStepState.PENDING and step.display_state(now) == "overdue"
        else:
            assert step.state == RunStepState.DONE, (step.title, step.note)
            # done at the first tick after it was due, by nobody (the job)
            assert step.due_at <= step.done_at < step.due_at + timedelta(hours=1) and step.done_by is None

    members = list(group.memberships.filter(status=MembershipStatus.ACTIVE).values_list("user_id", flat=True))
    messages = Notification.objects.filter(kind="playbook_message")
    assert messages.count() == 2 * len(members)
    assert sorted(messages.filter(title="欢迎加入新手妈妈群").values_list("user_id", flat=True)) == sorted(members)
    assert messages.filter(body="群规：不发广告；友善交流").count() == len(members)
    assert messages.filter(category="marketing").count() == messages.count()
    posts = SpacePost.objects.filter(group=group, kind=PostKind.ANNOUNCEMENT)
    assert sorted(posts.values_list("body", flat=True)) == ["今晚微课\n今晚 8 点微课", "群规\n不发广告；友善交流"]
    campaigns = Campaign.objects.filter(groups=group)
    assert campaigns.count() == 1
    campaign = campaigns.get()
    assert not campaign.all_groups and campaign.name == "¥1 拼团模板·新手妈妈群"
    assert campaign.starts_at == at(run.day0, 2, 10) and campaign.ends_at == at(run.day0, 4, 10)
    assert steps[5].result == f"campaign:{campaign.pk}"


def test_a_failing_step_is_marked_failed_with_the_reason_and_not_retried(shop):
    playbook = make_playbook(shop)
    playbook.steps.filter(action=StepAction.ANNOUNCEMENT).update(author=None)
    group = new_group(shop, members=1)
    now = at(group.playbook_run.day0, 1, 12)

    services.run_due_steps(now=now)
    failed = group.playbook_run.steps.get(position=2)
    assert failed.state == RunStepState.FAILED and "作者" in failed.note
    assert not SpacePost.objects.filter(group=group).exists()
    assert services.run_due_steps(now=now + timedelta(hours=1)) == 0

    # an operator gives it another try later: it runs once more (and fails again, visibly)
    owner = shop_owner(shop)
    later = timezone.now() + timedelta(hours=1)
    services.reschedule(step=failed, by=owner, due_at=later)
    assert RunStep.objects.get(pk=failed.pk).state == RunStepState.PENDING


def test_operators_skip_reschedule_and_do_tasks_each_audited(shop):
    make_playbook(shop)
    group = new_group(shop, members=1)
    owner = shop_owner(shop)
    run = group.playbook_run
    message, task = run.steps.get(position=1), run.steps.get(action=StepAction.TASK)

    skipped = services.skip(step=message, by=owner, note="已在微信群说过")
    assert skipped.state == RunStepState.SKIPPED and skipped.done_by == owner
    assert services.run_due_steps(now=at(run.day0, 0, 12)) == 1  # only the announcement
    assert not Notification.objects.filter(kind="playbook_message").exists()

    with pytest.raises(ValidationError):
        services.mark_done(step=run.steps.get(position=6), by=owner)  # automatic: the job does it
    with pytest.raises(ValidationError):
        services.skip(step=message, by=owner)  # already skipped

    new_time = timezone.now() + timedelta(days=3)
    moved = services.reschedule(step=task, by=owner, due_at=new_time)
    assert moved.due_at == new_time and moved.state == RunStepState.PENDING
    with pytest.raises(ValidationError):
        services.reschedule(step=task, by=owner, due_at=timezone.now() - timedelta(days=1))
    done = services.mark_done(step=task, by=owner, note="讲了护肤步骤")
    assert done.state == RunStepState.DONE and done.done_by == owner

    entries = AuditEntry.objects.filter(shop=shop, action__startswith="playbook.step.")
    actions = list(entries.values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["playbook.step.skip", "playbook.step.reschedule", "playbook.step.done"] + ["playbook.step.save"] * len(STEPS)
    )


def test_steps_of_an_archived_group_are_skipped_not_run(shop):
    from groups.lifecycle import transition_group
    from groups.models import GroupState

    make_playbook(shop)
    group = new_group(shop, members=1)
    transition_group(group=group, to_state=GroupState.ARCHIVED)

    assert services.run_due_steps(now=at(group.playbook_run.day0, 8, 0)) == 0
    assert set(group.playbook_run.steps.values_list("state", flat=True)) == {RunStepState.SKIPPED}
    assert not Notification.objects.filter(kind="playbook_message").exists()


def test_a_group_keeps_its_one_run(shop):
    playbook = make_playbook(shop)
    group = new_group(shop, members=0)
    with pytest.raises(ValidationError):
        services.assign_playbook(group=group, playbook=playbook, by=shop_owner(shop))
    assert PlaybookRun.objects.filter(group=group).count() == 1


def test_step_validation_speaks_chinese(shop):
    playbook = make_playbook(shop, is_default=False)
    with pytest.raises(ValidationError) as error:
        services.save_step(
            playbook=playbook,
            by=shop_owner(shop),
            day=99,
            at_time=time(9),
            action=StepAction.CAMPAIGN,
            title="",
            body="",
            campaign_template=None,
            campaign_days=2,
        )
    assert set(error.value.message_dict) == {"day", "title", "campaign_template"}
    assert "第几天" in error.value.message_dict["day"][0]
