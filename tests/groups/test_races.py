"""Capacity and max-uses hold under real concurrent transactions; the controls show the race is real.

Each control swaps the guarded statement for the naive check-then-act the guard replaces, with a
gate that makes every racer read before anyone writes; the same race then breaks the invariant.
"""

import pytest
from django.db.models import F

from groups import services
from groups.models import Group, GroupSeries, InviteLink, Membership, MembershipStatus
from groups.services import JoinRefused, create_link, create_series, join_via_link
from referrals.models import ReferralEdge
from tests.factories import GroupFactory, InviteLinkFactory, ShopFactory, UserFactory, shop_owner
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 12


def _joiners(n):
    return [UserFactory() for _ in range(n)]


def _own_links(group, n):
    """One link per racer (different inviters), so only the group's seat count is contended."""
    return [InviteLinkFactory(group=group) for _ in range(n)]


def _active(group):
    return Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE).count()


def test_capacity_holds_when_many_join_at_once():
    group = GroupFactory(capacity=5)
    users, links = _joiners(RACERS), _own_links(group, RACERS)

    results = race(RACERS, lambda i: join_via_link(user=users[i], code=links[i].code))

    joined = [r for r in results if isinstance(r, Membership)]
    refused = [r for r in results if isinstance(r, JoinRefused)]
    assert len(joined) == 5 and len(refused) == RACERS - 5, results
    assert all(r.reason == "full" for r in refused)
    group.refresh_from_db()
    assert group.active_member_count == 5 == _active(group)
    # A refused join left nothing behind: no membership, and its link use was given back.
    assert Membership.objects.filter(group=group).count() == 5
    assert sum(InviteLink.objects.filter(group=group).values_list("use_count", flat=True)) == 5


def test_control_capacity_breaks_without_the_guard(monkeypatch):
    group = GroupFactory(capacity=5)
    users, links = _joiners(RACERS), _own_links(group, RACERS)
    gate = Gate(RACERS)

    def naive_take_seat(group_id, *, below=None):
        seen = Group.objects.get(pk=group_id).active_member_count
        gate.wait()
        if seen < Group.objects.get(pk=group_id).capacity:
            Group.objects.filter(pk=group_id).update(active_member_count=seen + 1)
            return True
        return False

    monkeypatch.setattr(services, "_take_seat", naive_take_seat)
    race(RACERS, lambda i: join_via_link(user=users[i], code=links[i].code))

    assert _active(group) > group.capacity  # the race is real: the guard is what prevents it


def test_max_uses_admits_exactly_that_many():
    group = GroupFactory(capacity=200)
    link = InviteLinkFactory(group=group, max_uses=5)
    users = _joiners(RACERS)

    results = race(RACERS, lambda i: join_via_link(user=users[i], code=link.code))

    assert sum(isinstance(r, Membership) for r in results) == 5
    assert all(r.reason == "exhausted" for r in results if isinstance(r, JoinRefused))
    link.refresh_from_db()
    assert link.use_count == 5 == link.join_count == _active(group)


def test_control_max_uses_breaks_without_the_guard(monkeypatch):
    group = GroupFactory(capacity=200)
    link = InviteLinkFactory(group=group, max_uses=5)
    users = _joiners(RACERS)
    gate = Gate(RACERS)

    def naive_consume(link_id):
        row = InviteLink.objects.get(pk=link_id)
        gate.wait()
        if row.use_count < row.max_uses:
            InviteLink.objects.filter(pk=link_id).update(use_count=row.use_count + 1)
            return True
        return False

    monkeypatch.setattr(services, "_consume_link_use", naive_consume)
    race(RACERS, lambda i: join_via_link(user=users[i], code=link.code))

    assert _active(group) > link.max_uses


def test_same_person_clicking_twice_at_once_joins_once():
    group = GroupFactory(capacity=200)
    link = InviteLinkFactory(group=group)
    user = UserFactory()

    results = race(6, lambda i: join_via_link(user=user, code=link.code))

    assert all(isinstance(r, Membership) for r in results), results
    assert Membership.objects.filter(group=group, user=user).count() == 1
    group.refresh_from_db()
    link.refresh_from_db()
    assert group.active_member_count == 1 and link.use_count == 1


def test_series_rotation_under_concurrency_opens_each_group_once():
    shop = ShopFactory()
    owner = UserFactory()
    series = create_series(shop=shop, name="辅食交流", capacity=10, rotation_threshold=3, by=owner)
    links = [create_link(shop=shop, by=shop_owner(shop), inviter=UserFactory(), series=series) for _ in range(RACERS)]
    users = _joiners(RACERS)

    results = race(RACERS, lambda i: join_via_link(user=users[i], code=links[i].code))

    assert all(isinstance(r, Membership) for r in results), results
    groups = list(Group.objects.filter(series=series).order_by("number_in_series"))
    assert [g.number_in_series for g in groups] == [1, 2, 3, 4]  # 12 joiners / threshold 3, no gaps
    assert [g.active_member_count for g in groups] == [3, 3, 3, 3]
    assert all(g.active_member_count == _active(g) for g in groups)


def test_one_inviter_per_invitee_even_when_two_links_race():
    shop = ShopFactory()
    g1, g2 = GroupFactory(shop=shop), GroupFactory(shop=shop)
    l1, l2 = InviteLinkFactory(group=g1), InviteLinkFactory(group=g2)
    invitee = UserFactory()

    race(2, lambda i: join_via_link(user=invitee, code=(l1, l2)[i].code))

    assert ReferralEdge.objects.filter(shop=shop, invitee=invitee).count() == 1


def test_series_group_count_matches_seats_after_leaves_and_joins():
    """Seat counts stay exact across mixed joins and leaves racing on one group."""
    group = GroupFactory(capacity=50)
    staying = _joiners(6)
    for user in staying:
        join_via_link(user=user, code=InviteLinkFactory(group=group).code)
    newcomers, links = _joiners(6), _own_links(group, 6)
    memberships = list(Membership.objects.filter(group=group))

    def act(i):
        if i < 6:
            return services.leave(membership=memberships[i])
        return join_via_link(user=newcomers[i - 6], code=links[i - 6].code)

    results = race(12, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    group.refresh_from_db()
    assert group.active_member_count == _active(group) == 6
    assert Group.objects.filter(pk=group.pk, active_member_count=F("capacity")).count() == 0
    assert GroupSeries.objects.count() == 0


def _series_with_applications(n, *, rotation=3):
    """A 群活码 whose groups need approval, and n people who applied through its public code."""
    shop = ShopFactory()
    series = create_series(
        shop=shop, name="护肤打卡", capacity=10, rotation_threshold=rotation, threshold="approval", by=UserFactory()
    )
    link = create_link(shop=shop, by=shop_owner(shop), inviter=UserFactory(), series=series)
    applications = [join_via_link(user=user, code=link.code) for user in _joiners(n)]
    return series, applications


def test_approving_a_series_applications_at_once_fills_each_group_to_the_threshold_only():
    series, applications = _series_with_applications(RACERS, rotation=3)
    # Applications hold no seat: the rotation sent every applicant to the first group.
    assert {(a.status, a.group.number_in_series) for a in applications} == {("pending", 1)}
    approver = UserFactory()

    results = race(RACERS, lambda i: services.approve(membership=applications[i], by=approver))

    assert all(isinstance(r, Membership) for r in results), results
    groups = list(Group.objects.filter(series=series).order_by("number_in_series"))
    assert [g.number_in_series for g in groups] == [1, 2, 3, 4]  # moved on to the current group, none skipped
    assert [g.active_member_count for g in groups] == [3, 3, 3, 3] == [_active(g) for g in groups]
    assert Membership.objects.filter(group__series=series, status=MembershipStatus.PENDING).count() == 0


def test_control_approvals_overfill_a_group_without_the_guard(monkeypatch):
    series, applications = _series_with_applications(6, rotation=3)
    gate = Gate(6)

    def naive_take_seat(group_id, *, below=None):
        group = Group.objects.get(pk=group_id)
        gate.wait()  # every approver reads the count before anyone writes
        if group.active_member_count < min(group.capacity, below or group.capacity):
            Group.objects.filter(pk=group_id).update(active_member_count=F("active_member_count") + 1)
            return True
        return False

    monkeypatch.setattr(services, "_take_seat", naive_take_seat)
    results = race(6, lambda i: services.approve(membership=applications[i], by=UserFactory()))

    assert all(isinstance(r, Membership) for r in results), results
    first = Group.objects.get(series=series, number_in_series=1)
    assert _active(first) == 6 > series.rotation_threshold
