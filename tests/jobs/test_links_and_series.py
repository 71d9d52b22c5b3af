"""Invite links expire on time; a series whose groups are full has its next group opened in advance."""

import pytest

from groups.jobs import expire_links, open_next_series_groups
from groups.models import Group, GroupState, GroupTransition
from groups.services import JoinRefused, add_member, create_series, join_via_link, link_problem
from tests.builders.groups import DAY
from tests.factories import InviteLinkFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_links_past_their_expiry_are_revoked_as_of_that_time(group, now):
    expired = InviteLinkFactory(group=group, expires_at=now - DAY)
    later = InviteLinkFactory(group=group, expires_at=now + DAY)
    forever = InviteLinkFactory(group=group)
    assert expire_links(now=now) == 1
    for link in (expired, later, forever):
        link.refresh_from_db()
    assert expired.revoked_at == expired.expires_at
    assert later.revoked_at is None and forever.revoked_at is None
    assert expire_links(now=now) == 0
    with pytest.raises(JoinRefused) as refused:
        join_via_link(user=UserFactory(), code=expired.code)
    assert refused.value.reason == "expired"  # the member is told it expired, not that it was revoked
    # The next link expires when its time comes.
    assert expire_links(now=now + 2 * DAY) == 1
    later.refresh_from_db()
    assert later.revoked_at == later.expires_at


def test_a_revoked_link_keeps_the_time_it_was_revoked(group, now):
    link = InviteLinkFactory(group=group, expires_at=now - DAY, revoked_at=now - 3 * DAY)
    assert expire_links(now=now) == 0
    link.refresh_from_db()
    assert link.revoked_at == now - 3 * DAY
    assert link_problem(link, now=now) == "revoked"


@pytest.fixture
def series(shop, owner):
    return create_series(shop=shop, name="护肤交流", by=owner, capacity=3, rotation_threshold=2)


def test_when_every_group_of_a_series_reached_its_threshold_the_next_one_opens(series):
    first = series.groups.get()
    assert open_next_series_groups() == 0  # room left
    for _ in range(2):
        add_member(group=first, user=UserFactory(), by=None)
    assert open_next_series_groups() == 1
    second = series.groups.get(number_in_series=2)
    assert second.state == GroupState.RECRUITING
    assert GroupTransition.objects.filter(group=second, to_state=GroupState.RECRUITING, by=None).exists()
    assert open_next_series_groups() == 0  # the new group has room
    assert series.groups.count() == 2


def test_a_series_whose_groups_are_all_archived_opens_nothing(series):
    Group.objects.filter(series=series).update(state=GroupState.ARCHIVED)
    assert open_next_series_groups() == 0
    assert series.groups.count() == 1
