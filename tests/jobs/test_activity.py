"""Member activity is recorded append-only and moves "last active" forward, never back."""

import pytest

from groups.activity import record_activity
from groups.models import ActivityKind, MemberActivity, Membership

from .conftest import DAY, with_members

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
