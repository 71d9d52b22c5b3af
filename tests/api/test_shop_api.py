"""The operator API: groups, their members and links, series — happy paths, validation, query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups import services
from groups.models import (
    Channel,
    Group,
    GroupState,
    GroupTransition,
    InviteLink,
    MemberRole,
    Membership,
    MembershipStatus,
    Threshold,
)
from tests.factories import GroupFactory, GroupSeriesFactory, InviteLinkFactory, TagFactory, UserFactory

from .conftest import errors_of

# --- Groups ---------------------------------------------------------------------------------------


def test_list_the_shops_groups(operator_api, shop, other_shop):
    mine = GroupFactory(shop=shop, name="宝妈群")
    GroupFactory(shop=other_shop)

    response = operator_api.get(reverse("api-shop-groups"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == mine.pk and row["name"] == "宝妈群"
    assert row["state"] == "active"
    assert row["member_count"] == 0 and row["seats_left"] == 200
    assert (row["joins_7d"], row["leaves_7d"], row["pending_count"]) == (0, 0, 0)


def test_list_filters_by_state_tag_and_series(operator_api, shop):
    tag = TagFactory(shop=shop)
    series = GroupSeriesFactory(shop=shop)
    tagged = GroupFactory(shop=shop)
    tagged.tags.add(tag)
    in_series = GroupFactory(shop=shop, series=series, number_in_series=1)
    preparing = GroupFactory(shop=shop, state=GroupState.PREPARING)
    url = reverse("api-shop-groups")

    def ids(**params):
        return [g["id"] for g in operator_api.get(url, params).json()["results"]]

    assert ids(tag=tag.pk) == [tagged.pk]
    assert ids(series=series.pk) == [in_series.pk]
    assert ids(state="preparing") == [preparing.pk]
    bad = operator_api.get(url, {"state": "nonsense"})
    assert bad.status_code == 400
    assert errors_of(bad)[0]["field"] == "state"


def test_create_a_group(operator_api, shop, operator):
    tag = TagFactory(shop=shop)

    response = operator_api.post(
        reverse("api-shop-groups"),
        {
            "name": "摄影交流",
            "purpose": "brand",
            "capacity": 150,
            "threshold": "submission",
            "entry_question": "发一张你的作品",
            "tags": [tag.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    group = Group.objects.get(pk=body["id"])
    assert group.shop == shop and group.name == "摄影交流" and group.capacity == 150
    assert group.state == GroupState.PREPARING
    assert body["tags"] == [{"id": tag.pk, "name": tag.name}]
    assert body["allowed_transitions"] == [
        {"to_state": "recruiting", "label": "招募中"},
        {"to_state": "archived", "label": "已归档"},
    ]


def test_create_a_group_uses_the_shops_default_capacity(operator_api, shop):
    response = operator_api.post(reverse("api-shop-groups"), {"name": "新群"}, format="json")

    assert response.status_code == 201
    assert response.json()["capacity"] == shop.settings.default_group_capacity


def test_capacity_above_the_hard_cap_is_refused_on_the_capacity_field(operator_api, shop):
    response = operator_api.post(reverse("api-shop-groups"), {"name": "大群", "capacity": 351}, format="json")

    assert response.status_code == 400
    errors = errors_of(response)
    assert errors[0]["field"] == "capacity"
    assert "350" in errors[0]["message"]
    assert not Group.objects.exists()


def test_paid_group_without_a_price_is_refused(operator_api):
    response = operator_api.post(reverse("api-shop-groups"), {"name": "付费群", "threshold": "paid"}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "entry_price"


def test_tags_of_another_shop_are_refused(operator_api, other_shop):
    foreign = TagFactory(shop=other_shop)

    response = operator_api.post(reverse("api-shop-groups"), {"name": "群", "tags": [foreign.pk]}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "tags"
    assert not Group.objects.exists()


def test_missing_name_is_a_field_error(operator_api):
    response = operator_api.post(reverse("api-shop-groups"), {}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "name"


def test_group_detail(operator_api, group, operator):
    services.add_member(group=group, user=UserFactory(display_name="群主甲"), by=operator, role=MemberRole.OWNER)

    response = operator_api.get(reverse("api-shop-group", args=[group.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == group.pk
    assert body["member_count"] == 1
    assert body["owner"]["public_name"] == "群主甲"
    assert body["allowed_transitions"] == [
        {"to_state": "cooling", "label": "冷却"},
        {"to_state": "archived", "label": "已归档"},
    ]


def test_patch_changes_only_what_is_sent(operator_api, group, shop):
    tag = TagFactory(shop=shop)
    group.tags.add(tag)
    group.description = "原介绍"
    group.save()

    response = operator_api.patch(reverse("api-shop-group", args=[group.pk]), {"capacity": 120}, format="json")

    assert response.status_code == 200
    group.refresh_from_db()
    assert group.capacity == 120
    assert group.description == "原介绍"
    assert list(group.tags.all()) == [tag]

    response = operator_api.patch(
        reverse("api-shop-group", args=[group.pk]), {"name": "改名", "tags": []}, format="json"
    )
    assert response.status_code == 200
    group.refresh_from_db()
    assert group.name == "改名" and group.capacity == 120
    assert not group.tags.exists()


def test_patch_refuses_a_capacity_below_the_members(operator_api, group):
    for _ in range(3):
        services.add_member(group=group, user=UserFactory(), by=None)

    response = operator_api.patch(reverse("api-shop-group", args=[group.pk]), {"capacity": 2}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "capacity"
    group.refresh_from_db()
    assert group.capacity == 200


def test_put_is_not_offered(operator_api, group):
    response = operator_api.put(reverse("api-shop-group", args=[group.pk]), {"name": "x"}, format="json")

    assert response.status_code == 405
    assert errors_of(response)[0]["code"] == "method_not_allowed"


def test_transition_a_group(operator_api, group, operator):
    response = operator_api.post(
        reverse("api-shop-group-transition", args=[group.pk]),
        {"to_state": "cooling", "reason": "活动结束"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["state"] == "cooling"
    move = GroupTransition.objects.get(group=group)
    assert (move.from_state, move.to_state, move.by, move.reason) == ("active", "cooling", operator, "活动结束")


def test_a_move_the_lifecycle_forbids_is_refused(operator_api, group):
    response = operator_api.post(
        reverse("api-shop-group-transition", args=[group.pk]), {"to_state": "recruiting"}, format="json"
    )

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] is None
    group.refresh_from_db()
    assert group.state == GroupState.ACTIVE


def test_an_unknown_state_is_a_field_error(operator_api, group):
    response = operator_api.post(
        reverse("api-shop-group-transition", args=[group.pk]), {"to_state": "preparing"}, format="json"
    )

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "to_state"


# --- Members --------------------------------------------------------------------------------------


def test_members_of_a_group_show_public_names_only(operator_api, group, shop):
    inviter = UserFactory(display_name="", phone="+8613900001111")
    link = InviteLinkFactory(group=group, inviter=inviter, channel=Channel.POSTER)
    joiner = UserFactory(display_name="", phone="+8613700002222")
    membership = services.join_via_link(user=joiner, code=link.code)
    tag = TagFactory(shop=shop, name="大客户")
    membership.tags.add(tag)

    response = operator_api.get(reverse("api-shop-group-members", args=[group.pk]))

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["id"] == membership.pk
    assert row["user"] == {"id": joiner.pk, "public_name": "137****2222"}
    assert row["inviter"] == {"id": inviter.pk, "public_name": "139****1111"}
    assert row["role"] == "member" and row["status"] == "active" and row["channel"] == "poster"
    assert row["tags"] == [{"id": tag.pk, "name": "大客户"}]
    assert row["joined_at"] and row["last_active_at"]
    assert "13700002222" not in response.content.decode()
    assert "13900001111" not in response.content.decode()


def test_members_filter_by_status(operator_api, group):
    active = services.add_member(group=group, user=UserFactory(), by=None)
    left = services.add_member(group=group, user=UserFactory(), by=None)
    services.leave(membership=left)
    url = reverse("api-shop-group-members", args=[group.pk])

    assert [m["id"] for m in operator_api.get(url, {"status": "active"}).json()["results"]] == [active.pk]
    assert [m["id"] for m in operator_api.get(url, {"status": "left"}).json()["results"]] == [left.pk]
    assert errors_of(operator_api.get(url, {"status": "gone"}))[0]["field"] == "status"


@pytest.fixture
def pending(group):
    group.threshold = Threshold.APPROVAL
    group.save()
    link = InviteLinkFactory(group=group)
    return services.join_via_link(user=UserFactory(), code=link.code, answer="想学拍照")


def _act(client, membership, action, **body):
    return client.post(reverse("api-shop-member-action", args=[membership.pk, action]), body, format="json")


def test_approve_a_pending_member(operator_api, pending, operator):
    response = _act(operator_api, pending, "approve")

    assert response.status_code == 200
    assert response.json()["status"] == "active"
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.ACTIVE and pending.decided_by == operator


def test_reject_a_pending_member_with_a_reason(operator_api, pending):
    response = _act(operator_api, pending, "reject", reason="不符合要求")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["note"] == "不符合要求"


def test_deciding_twice_is_refused(operator_api, pending):
    _act(operator_api, pending, "approve")

    response = _act(operator_api, pending, "reject")

    assert response.status_code == 400
    assert errors_of(response)[0]["code"] == "invalid"


def test_remove_ban_unban_and_set_role(operator_api, group):
    a = services.add_member(group=group, user=UserFactory(), by=None)
    b = services.add_member(group=group, user=UserFactory(), by=None)

    assert _act(operator_api, a, "set-role", role="admin").json()["role"] == "admin"
    assert _act(operator_api, a, "remove", reason="发广告").json()["status"] == "removed"
    assert _act(operator_api, b, "ban").json()["status"] == "banned"
    assert _act(operator_api, b, "unban").json()["status"] == "removed"
    group.refresh_from_db()
    assert group.active_member_count == 0


def test_set_role_needs_a_role(operator_api, group):
    m = services.add_member(group=group, user=UserFactory(), by=None)

    response = _act(operator_api, m, "set-role")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "role"


def test_an_unknown_member_action_is_a_404(operator_api, group):
    m = services.add_member(group=group, user=UserFactory(), by=None)

    response = operator_api.post(f"/api/v1/shop/members/{m.pk}/promote/", {}, format="json")

    assert response.status_code == 404


# --- Links ----------------------------------------------------------------------------------------


def test_create_list_and_revoke_a_channel_link(operator_api, group, operator):
    expires = timezone.now() + timedelta(days=3)
    response = operator_api.post(
        reverse("api-shop-group-links", args=[group.pk]),
        {
            "channel": "parcel_card",
            "label": "6 月包裹卡",
            "expires_at": expires.isoformat(),
            "max_uses": 100,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    link = InviteLink.objects.get(pk=body["id"])
    assert (link.group, link.inviter, link.channel, link.max_uses) == (group, operator, "parcel_card", 100)
    assert body["url"] == f"http://testserver/m/j/{link.code}/"
    assert body["target_kind"] == "group" and body["target_id"] == group.pk
    assert body["problem"] is None

    listed = operator_api.get(reverse("api-shop-group-links", args=[group.pk])).json()
    assert [row["id"] for row in listed["results"]] == [link.pk]

    revoked = operator_api.post(reverse("api-shop-link-revoke", args=[link.pk]))
    assert revoked.status_code == 200
    assert revoked.json()["problem"] == "revoked" and revoked.json()["revoked_at"]
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_a_link_expiring_in_the_past_is_refused(operator_api, group):
    response = operator_api.post(
        reverse("api-shop-group-links", args=[group.pk]),
        {"expires_at": (timezone.now() - timedelta(hours=1)).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "expires_at"


def test_max_uses_below_one_is_refused(operator_api, group):
    response = operator_api.post(reverse("api-shop-group-links", args=[group.pk]), {"max_uses": 0}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "max_uses"


# --- Series ---------------------------------------------------------------------------------------


def test_create_list_and_read_a_series(operator_api, shop):
    tag = TagFactory(shop=shop)
    response = operator_api.post(
        reverse("api-shop-series"),
        {
            "name": "护肤交流",
            "capacity": 200,
            "rotation_threshold": 150,
            "tags": [tag.pk],
            "threshold": "paid",
            "entry_price": "1.00",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "护肤交流" and body["rotation_threshold"] == 150
    assert body["entry_price"] == "1.00"
    assert [g["name"] for g in body["groups"]] == ["护肤交流 1群"]
    assert body["groups"][0]["state"] == "recruiting"
    assert [(link["channel"], link["target_kind"]) for link in body["links"]] == [("series_code", "series")]
    series_id = body["id"]
    assert Group.objects.get(series_id=series_id).entry_price == Decimal("1.00")

    listed = operator_api.get(reverse("api-shop-series")).json()
    assert [s["id"] for s in listed["results"]] == [series_id]
    detail = operator_api.get(reverse("api-shop-series-detail", args=[series_id]))
    assert detail.status_code == 200
    assert detail.json()["links"][0]["code"] == body["links"][0]["code"]


def test_series_rotation_above_capacity_is_refused(operator_api):
    response = operator_api.post(
        reverse("api-shop-series"), {"name": "系列", "capacity": 100, "rotation_threshold": 150}, format="json"
    )

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "rotation_threshold"


# --- Query counts ---------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_group_list_queries_do_not_grow_with_groups(operator_api, shop):
    tag = TagFactory(shop=shop)
    series = GroupSeriesFactory(shop=shop)

    def add_groups(n):
        for _ in range(n):
            group = GroupFactory(shop=shop, series=series, number_in_series=Group.objects.count() + 1)
            group.tags.add(tag)
            services.add_member(group=group, user=UserFactory(), by=None, role=MemberRole.OWNER)

    url = reverse("api-shop-groups")
    add_groups(2)
    few = _queries(operator_api, url)
    add_groups(18)
    many = _queries(operator_api, url)

    assert operator_api.get(url).json()["count"] == 20
    assert few == many


def test_member_list_queries_do_not_grow_with_members(operator_api, group, shop):
    tag = TagFactory(shop=shop)
    link = InviteLinkFactory(group=group)

    def add_members(n):
        for _ in range(n):
            membership = services.join_via_link(user=UserFactory(), code=link.code)
            membership.tags.add(tag)

    url = reverse("api-shop-group-members", args=[group.pk])
    add_members(2)
    few = _queries(operator_api, url)
    add_members(18)
    many = _queries(operator_api, url)

    assert Membership.objects.filter(group=group).count() == 20
    assert few == many


def test_link_list_queries_do_not_grow_with_links(operator_api, group):
    url = reverse("api-shop-group-links", args=[group.pk])
    InviteLinkFactory.create_batch(2, group=group)
    few = _queries(operator_api, url)
    InviteLinkFactory.create_batch(18, group=group)

    assert _queries(operator_api, url) == few
