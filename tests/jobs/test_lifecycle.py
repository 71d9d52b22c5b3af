"""Groups move on time: recruiting → active at the planned start, active → cooling after quiet days,
cooling → archived after the archive days (or back to active when members return). Each move is recorded
like a manual one (by nobody, with a reason), and a second run moves nothing twice."""

import pytest

from groups.activity import record_activity
from groups.jobs import cool_and_archive, run_lifecycle, start_planned_groups
from groups.lifecycle import transition_group
from groups.models import ActivityKind, AutomationSettings, GroupState, GroupTransition
from tests.builders.groups import DAY, with_members
from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db
S = GroupState


def moves(group):
    return list(
        GroupTransition.objects.filter(group=group).order_by("pk").values_list("from_state", "to_state", "by", "reason")
    )


def state_of(group):
    group.refresh_from_db()
    return group.state


# --- Recruiting → active at the planned start --------------------------------------------------------


def test_a_recruiting_group_starts_at_its_planned_time(shop, now):
    group = GroupFactory(shop=shop, state=S.RECRUITING, planned_start_at=now + 2 * DAY)
    assert start_planned_groups(now=now + DAY) == 0
    assert state_of(group) == S.RECRUITING
    assert start_planned_groups(now=now + 2 * DAY) == 1
    assert state_of(group) == S.ACTIVE
    assert moves(group) == [(S.RECRUITING, S.ACTIVE, None, "到达计划开营时间，自动开营")]
    assert start_planned_groups(now=now + 3 * DAY) == 0
    assert len(moves(group)) == 1


def test_a_group_without_a_planned_start_waits_for_the_operator(shop, now):
    group = GroupFactory(shop=shop, state=S.RECRUITING)
    assert run_lifecycle(now=now + 30 * DAY) == 0
    assert state_of(group) == S.RECRUITING


def test_a_preparing_group_is_not_started_by_its_planned_time(shop, now):
    group = GroupFactory(shop=shop, state=S.PREPARING, planned_start_at=now - DAY)
    assert start_planned_groups(now=now) == 0
    assert state_of(group) == S.PREPARING


# --- Active → cooling ----------------------------------------------------------------------------------


def test_an_active_group_cools_after_seven_quiet_days(shop, now):
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    with_members(group, 20)
    assert cool_and_archive(now=now + 6 * DAY) == 0  # not active long enough to judge
    assert cool_and_archive(now=now + 8 * DAY) == 1
    assert state_of(group) == S.COOLING
    assert moves(group)[-1] == (S.ACTIVE, S.COOLING, None, "连续 7 天活跃度低，自动转为冷却")


def test_a_group_where_enough_members_take_part_stays_active(shop, now):
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    members = with_members(group, 20)
    for m in members[:1]:  # 1 of 20 = 5%: the default threshold is reached
        record_activity(group_id=group.pk, user_id=m.user_id, kind=ActivityKind.CHECK_IN, at=now + 5 * DAY)
    assert cool_and_archive(now=now + 8 * DAY) == 0
    assert state_of(group) == S.ACTIVE
    # Ten days later that check-in is out of the window: quiet again.
    assert cool_and_archive(now=now + 13 * DAY) == 1
    assert state_of(group) == S.COOLING


def test_the_quiet_days_and_threshold_are_shop_settings(shop, now):
    AutomationSettings.objects.create(shop=shop, quiet_days=3, quiet_active_percent=20)
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    members = with_members(group, 10)
    record_activity(group_id=group.pk, user_id=members[0].user_id, kind=ActivityKind.ORDER, at=now + 3 * DAY)
    assert cool_and_archive(now=now + 4 * DAY) == 1  # 1 of 10 = 10% < 20%
    assert state_of(group) == S.COOLING


def test_a_group_the_operator_reactivated_is_judged_from_then_on(shop, now):
    group = GroupFactory(shop=shop, state=S.COOLING)
    transition_group(group=group, to_state=S.ACTIVE, by=None, reason="运营手动恢复")
    assert cool_and_archive(now=now + 5 * DAY) == 0
    assert state_of(group) == S.ACTIVE


# --- Cooling → archived, or back to active --------------------------------------------------------------


def test_a_cooling_group_still_quiet_is_archived_after_fourteen_days(shop, now):
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    with_members(group, 5)
    transition_group(group=group, to_state=S.COOLING, by=None, reason="手动冷却")
    assert cool_and_archive(now=now + 13 * DAY) == 0
    assert state_of(group) == S.COOLING
    assert cool_and_archive(now=now + 15 * DAY) == 1
    assert state_of(group) == S.ARCHIVED
    assert moves(group)[-1] == (S.COOLING, S.ARCHIVED, None, "冷却 14 天仍未恢复活跃，自动归档")
    assert cool_and_archive(now=now + 30 * DAY) == 0


def test_a_cooling_group_whose_members_come_back_is_active_again(shop, now):
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    members = with_members(group, 10)
    transition_group(group=group, to_state=S.COOLING, by=None, reason="手动冷却")
    record_activity(group_id=group.pk, user_id=members[0].user_id, kind=ActivityKind.CAMPAIGN, at=now + DAY)
    assert cool_and_archive(now=now + 2 * DAY) == 1
    assert state_of(group) == S.ACTIVE
    assert moves(group)[-1] == (S.COOLING, S.ACTIVE, None, "成员互动恢复，自动恢复活跃")


def test_activity_from_before_the_group_cooled_does_not_bring_it_back(shop, now):
    group = GroupFactory(shop=shop, state=S.ACTIVE)
    members = with_members(group, 10)
    record_activity(group_id=group.pk, user_id=members[0].user_id, kind=ActivityKind.ORDER, at=now - DAY)
    transition_group(group=group, to_state=S.COOLING, by=None, reason="手动冷却")
    assert cool_and_archive(now=now + DAY) == 0
    assert state_of(group) == S.COOLING


def test_archived_and_preparing_groups_are_left_alone(shop, now):
    archived = GroupFactory(shop=shop, state=S.ARCHIVED)
    preparing = GroupFactory(shop=shop, state=S.PREPARING)
    assert run_lifecycle(now=now + 100 * DAY) == 0
    assert (state_of(archived), state_of(preparing)) == (S.ARCHIVED, S.PREPARING)
