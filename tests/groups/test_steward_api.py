"""The stewards' JSON API: each power × each group role × this group, another group of the shop and another
shop; the shop's operators; and appeals (the member submits once, the operator of the shop decides once)."""

import pytest
from rest_framework.test import APIClient

from groups import enforcement
from groups.models import MemberRole, Membership, MembershipStatus, MemberWarning, WarningAppeal
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory, ShopFactory
from tests.groups.space_support import member_in

pytestmark = pytest.mark.django_db

STEWARDS = (MemberRole.OWNER, MemberRole.ADMIN)
OTHERS = (MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER)


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _urls(group, membership):
    base = f"/api/v1/me/groups/{group.pk}/manage/"
    return {
        "approve": f"{base}applicants/{membership.pk}/approve/",
        "warn": f"{base}members/{membership.pk}/warn/",
        "remove": f"{base}members/{membership.pk}/remove/",
    }


@pytest.fixture
def targets(people):
    group = people["group"]
    return {
        "applicant": Membership.objects.get(group=group, user=people["pending"]),
        "member": Membership.objects.get(group=group, user=people[MemberRole.MEMBER]),
    }


@pytest.mark.parametrize("role", STEWARDS)
def test_a_steward_approves_and_warns_in_their_own_group(people, targets, role):
    client, group = api_as(people[role]), people["group"]
    approved = client.post(_urls(group, targets["applicant"])["approve"])
    assert approved.status_code == 200 and approved.json()["status"] == MembershipStatus.ACTIVE
    warned = client.post(_urls(group, targets["member"])["warn"], {"rule": "不发广告"}, format="json")
    assert warned.status_code == 200 and warned.json()["removed"] is False
    assert MemberWarning.objects.get().by == people[role]
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"group.member.approve", "group.member.warn"}


@pytest.mark.parametrize("role", OTHERS)
def test_members_without_powers_are_refused_403(people, targets, role):
    client, group = api_as(people[role]), people["group"]
    urls = {**_urls(group, targets["applicant"]), "warn": _urls(group, targets["member"])["warn"]}
    assert client.post(urls["approve"]).status_code == 403
    assert client.post(urls["warn"], {"rule": "x"}, format="json").status_code == 403
    assert client.post(_urls(group, targets["member"])["remove"]).status_code == 403
    assert not MemberWarning.objects.exists()
    assert Membership.objects.get(pk=targets["applicant"].pk).status == MembershipStatus.PENDING


def test_a_steward_of_another_group_or_shop_finds_nothing(people, targets):
    group = people["group"]
    for other in (people["other_group"], people["other_shop_group"]):
        steward = member_in(other, MemberRole.OWNER)
        client = api_as(steward)
        for url in _urls(group, targets["member"]).values():
            assert client.post(url, {"rule": "x"}, format="json").status_code == 404
        # Their own group's URL with this group's membership: not a membership there.
        for url in _urls(other, targets["member"]).values():
            assert client.post(url, {"rule": "x"}, format="json").status_code == 404
    assert not MemberWarning.objects.exists()


def test_a_steward_removes_only_after_the_warning_count_an_operator_anytime(people, targets, shop):
    group, member = people["group"], targets["member"]
    admin = api_as(people[MemberRole.ADMIN])
    refused = admin.post(_urls(group, member)["remove"], {"reason": "刷屏"}, format="json")
    assert refused.status_code == 400 and Membership.objects.get(pk=member.pk).status == MembershipStatus.ACTIVE
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    removed = api_as(operator).post(_urls(group, member)["remove"], {"reason": "刷屏"}, format="json")
    assert removed.status_code == 200 and removed.json()["status"] == MembershipStatus.REMOVED
    viewer = OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user
    assert api_as(viewer).post(_urls(group, targets["applicant"])["approve"]).status_code == 403


def test_reject_needs_a_reason_in_chinese(people, targets):
    client = api_as(people[MemberRole.OWNER])
    url = _urls(people["group"], targets["applicant"])["approve"].replace("/approve/", "/reject/")
    empty = client.post(url, {"reason": ""}, format="json")
    assert empty.status_code == 400
    assert client.post(url, {"reason": "群已满"}, format="json").json()["status"] == MembershipStatus.REJECTED


def test_a_member_appeals_once_and_the_shops_operator_decides_once(people, targets, shop):
    member = people[MemberRole.MEMBER]
    warning = enforcement.warn(membership=targets["member"], by=people[MemberRole.ADMIN], rule="不发广告")
    url = f"/api/v1/me/warnings/{warning.pk}/appeal/"
    assert api_as(people[MemberRole.ACTIVE]).post(url, {"text": "不是我"}, format="json").status_code == 404
    made = api_as(member).post(url, {"text": "误会，是分享链接"}, format="json")
    assert made.status_code == 201 and made.json()["state"] == "open"
    assert api_as(member).post(url, {"text": "再申诉"}, format="json").status_code == 400

    appeal = WarningAppeal.objects.get()
    decide = f"/api/v1/shop/appeals/{appeal.pk}/decide/"
    other_owner = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    assert api_as(other_owner).post(decide, {"decision": "withdraw"}, format="json").status_code == 404
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    assert api_as(operator).post(decide, {"decision": "maybe"}, format="json").status_code == 400
    decided = api_as(operator).post(decide, {"decision": "withdraw", "note": "确认误会"}, format="json")
    assert decided.status_code == 200 and decided.json()["state"] != "open"
    assert api_as(operator).post(decide, {"decision": "uphold"}, format="json").status_code == 400
    warning.refresh_from_db()
    assert warning.withdrawn_at is not None
    assert AuditEntry.objects.filter(action="group.warning.appeal.decide", actor=operator).count() == 1
