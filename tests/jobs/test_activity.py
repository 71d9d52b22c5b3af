"""Member activity is recorded append-only and moves "last active" forward, never back."""

import pytest

from groups.activity import record_activity
from groups.models import ActivityKind, MemberActivity, Membership
from tests.builders.groups import DAY, with_members

pytestmark = pytest.mark.django_db


def test_each_activity_is_a_row_and_last_active_only_moves_forward(group, now):
    membership = with_members(group, 1)[0]
    record_activity(group_id=group.pk, user_id=membership.user_id, kind=ActivityKind.CHECK_IN, at=now + DAY)
    record_activity(
        group_id=group.pk, user_id=membership.user_id, kind=ActivityKind.MESSAGE_OPENED, at=now, ref="notification:9"
    )
    kinds = MemberActivity.objects.filter(user_id=membership.user_id).order_by("pk").values_list("kind", flat=True)
    assert list(kinds) == [ActivityKind.JOIN, ActivityKind.CHECK_IN, ActivityKind.MESSAGE_OPENED]
    membership.refresh_from_db()
    assert membership.last_active_at == now + DAY  # the late event did not move it back


def test_activity_of_someone_who_left_is_kept_but_changes_no_membership(group, now):
    membership = with_members(group, 1)[0]
    Membership.objects.filter(pk=membership.pk).update(status="left", last_active_at=None)
    record_activity(group_id=group.pk, user_id=membership.user_id, kind=ActivityKind.ORDER, at=now)
    membership.refresh_from_db()
    assert membership.last_active_at is None
    assert MemberActivity.objects.filter(user_id=membership.user_id, kind="order").exists()


def test_an_unknown_kind_is_refused(group, member):
    with pytest.raises(ValueError):
        record_activity(group_id=group.pk, user_id=member.pk, kind="gossip")


def test_joining_a_group_is_recorded_as_activity(group):
    from groups.services import join_via_link
    from tests.factories import InviteLinkFactory, UserFactory

    user = UserFactory()
    membership = join_via_link(user=user, code=InviteLinkFactory(group=group).code)
    activity = MemberActivity.objects.get(user=user)
    assert (activity.group_id, activity.kind, activity.at) == (group.pk, ActivityKind.JOIN, membership.joined_at)


def test_opening_a_message_of_the_shop_is_activity_in_the_members_groups_once(group):
    from groups.services import add_member
    from notifications.models import Category
    from notifications.services import deliver_due, mark_all_read, mark_read, notify
    from tests.factories import GroupFactory, UserFactory

    user = UserFactory()
    add_member(group=group, user=user, by=None)
    elsewhere = GroupFactory()  # another shop's group: not touched by this shop's message
    add_member(group=elsewhere, user=user, by=None)
    first = notify(
        shop=group.shop,
        user=user,
        category=Category.TRANSACTIONAL,
        kind="order_paid",
        key="t:1",
        title="付款成功",
        body="",
    )
    second = notify(
        shop=group.shop,
        user=user,
        category=Category.TRANSACTIONAL,
        kind="order_paid",
        key="t:2",
        title="付款成功",
        body="",
    )
    deliver_due()
    MemberActivity.objects.all().delete()

    mark_read(notification=first)
    mark_read(notification=first)  # read again: no second activity
    assert mark_all_read(user=user) == 1

    opened = MemberActivity.objects.filter(kind=ActivityKind.MESSAGE_OPENED)
    assert sorted(opened.values_list("group_id", "ref")) == [
        (group.pk, f"notification:{first.pk}"),
        (group.pk, f"notification:{second.pk}"),
    ]
    assert Membership.objects.get(group=group, user=user).last_active_at is not None


def test_taking_part_in_a_campaign_is_activity_in_the_group(group):
    from campaigns.models import CampaignAct
    from campaigns.services import record_act
    from groups.services import add_member
    from tests.factories import UserFactory

    campaign = _campaign(group)
    actor = UserFactory()
    add_member(group=group, user=actor, by=None)
    act = record_act(campaign=campaign, actor=actor, inviter=None, kind="help", key="help:1", group=group)

    assert isinstance(act, CampaignAct)
    activity = MemberActivity.objects.get(user=actor, kind=ActivityKind.CAMPAIGN)
    assert (activity.group_id, activity.ref) == (group.pk, f"act:{act.pk}")


def _campaign(group):
    from campaigns.models import Campaign

    return Campaign.objects.create(
        shop=group.shop, type="help", name="助力领好礼", starts_at=group.created_at, ends_at=group.created_at + 30 * DAY
    )
