"""The group detail's members: approvals, removal and bans, roles, tags; the table's query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups import services
from groups.models import MemberRole, Membership, MembershipStatus
from tests.factories import GroupFactory, TagFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


def _act(client, membership, action, follow=True, **data):
    return client.post(reverse("dashboard:member_action", args=[membership.pk, action]), data, follow=follow)


def _errors(response):
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


def test_pending_section_shows_the_answer(viewer_client, applicant):
    response = viewer_client.get(reverse("dashboard:group_detail", args=[applicant.group_id]))
    assert [m.pk for m in response.context["pending"]] == [applicant.pk]
    assert "我是宝妈" in response.content.decode()


def test_approve_takes_a_seat(operator_client, operator, applicant):
    response = _act(operator_client, applicant, "approve")
    applicant.refresh_from_db()
    assert applicant.status == MembershipStatus.ACTIVE and applicant.decided_by == operator
    assert applicant.group.__class__.objects.get(pk=applicant.group_id).active_member_count == 1
    assert response.redirect_chain[-1][0] == reverse("dashboard:group_detail", args=[applicant.group_id])
    assert not _errors(response)


def test_approve_twice_shows_an_error(operator_client, applicant):
    _act(operator_client, applicant, "approve")
    response = _act(operator_client, applicant, "approve")
    assert _errors(response) == ["该申请已处理。"]


def test_approve_into_a_full_group_is_refused(operator_client, applicant):
    group = applicant.group
    group.capacity = 2
    group.save()
    for _ in range(2):
        services.add_member(group=group, user=UserFactory(), by=None)
    response = _act(operator_client, applicant, "approve")
    applicant.refresh_from_db()
    assert applicant.status == MembershipStatus.PENDING
    assert _errors(response) == ["群已满或不在开放状态，无法通过。"]


def test_reject_keeps_the_reason(operator_client, applicant):
    _act(operator_client, applicant, "reject", reason="回答不完整")
    applicant.refresh_from_db()
    assert (applicant.status, applicant.note) == (MembershipStatus.REJECTED, "回答不完整")


def test_ban_then_unban(operator_client, group):
    membership = services.add_member(group=group, user=UserFactory(), by=None)
    _act(operator_client, membership, "ban", reason="发广告")
    membership.refresh_from_db()
    group.refresh_from_db()
    assert membership.status == MembershipStatus.BANNED and group.active_member_count == 0
    link = services.create_link(shop=group.shop, by=shop_owner(group.shop), inviter=UserFactory(), group=group)
    with pytest.raises(services.JoinRefused) as refused:
        services.join_via_link(user=membership.user, code=link.code)
    assert refused.value.reason == "banned"
    _act(operator_client, membership, "unban")
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REMOVED


def test_remove_and_the_owner_cannot_be_removed(operator_client, group):
    owner = services.add_member(group=group, user=UserFactory(), by=None, role=MemberRole.OWNER)
    member = services.add_member(group=group, user=UserFactory(), by=None)
    _act(operator_client, member, "remove")
    member.refresh_from_db()
    assert member.status == MembershipStatus.REMOVED
    response = _act(operator_client, owner, "remove")
    owner.refresh_from_db()
    assert owner.status == MembershipStatus.ACTIVE
    assert _errors(response) == ["群主不能退出或被移出，请先转让群主。"]


def test_set_role_and_tags(operator_client, group, shop):
    member = services.add_member(group=group, user=UserFactory(), by=None)
    _act(operator_client, member, "set_role", role=MemberRole.ADMIN)
    tags = [TagFactory(shop=shop), TagFactory(shop=shop)]
    _act(operator_client, member, "set_tags", tags=[t.pk for t in tags])
    member.refresh_from_db()
    assert member.role == MemberRole.ADMIN
    assert set(member.tags.all()) == set(tags)
    _act(operator_client, member, "set_tags")  # none chosen: tags cleared
    assert not member.tags.exists()


def test_set_role_owner_makes_them_the_groups_owner(operator_client, group):
    member = services.add_member(group=group, user=UserFactory(), by=None)
    _act(operator_client, member, "set_role", role=MemberRole.OWNER)
    group.refresh_from_db()
    assert group.owner == member.user


def test_action_returns_to_the_page_it_came_from(operator_client, applicant):
    back = reverse("dashboard:group_detail", args=[applicant.group_id]) + "?status=pending"
    response = _act(operator_client, applicant, "approve", follow=False, next=back)
    assert response["Location"] == back
    evil = _act(operator_client, applicant, "reject", follow=False, next="https://evil.example/")
    assert evil["Location"] == reverse("dashboard:group_detail", args=[applicant.group_id])


def test_members_table_filters_by_status(viewer_client, group):
    active = services.add_member(group=group, user=UserFactory(), by=None)
    gone = services.add_member(group=group, user=UserFactory(), by=None)
    services.leave(membership=gone)
    url = reverse("dashboard:group_detail", args=[group.pk])
    assert {m.pk for m in viewer_client.get(url).context["members"]} == {active.pk, gone.pk}
    assert [m.pk for m in viewer_client.get(url, {"status": "left"}).context["members"]] == [gone.pk]


def _add_members(group, n, tags, inviter):
    link = services.create_link(shop=group.shop, by=shop_owner(group.shop), inviter=inviter, group=group)
    for _ in range(n):
        membership = services.join_via_link(user=UserFactory(), code=link.code)
        services.set_member_tags(membership=membership, by=shop_owner(membership.group.shop), tags=tags)


def test_members_table_runs_in_constant_queries(operator_client, shop):
    group = GroupFactory(shop=shop, capacity=300)
    tags = [TagFactory(shop=shop), TagFactory(shop=shop)]
    inviter = UserFactory(display_name="邀请人")
    url = reverse("dashboard:group_detail", args=[group.pk])
    _add_members(group, 3, tags, inviter)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = operator_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    few, _ = count()
    _add_members(group, 27, tags, inviter)
    many, response = count()
    assert many == few
    assert len(response.context["members"]) == 30
    assert Membership.objects.filter(group=group).count() == 30


@pytest.mark.slow
def test_members_table_paginates(viewer_client, shop):
    group = GroupFactory(shop=shop, capacity=300)
    _add_members(group, 51, [], UserFactory())
    url = reverse("dashboard:group_detail", args=[group.pk])
    assert len(viewer_client.get(url).context["members"]) == 50
    assert len(viewer_client.get(url, {"page": 2}).context["members"]) == 1
