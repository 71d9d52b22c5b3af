"""Who may see and do what on the dashboard, and that another shop's objects do not exist for us."""

import pytest
from django.urls import reverse

from groups.models import Group, GroupSeries, GroupState, GroupTransition, InviteLink, Membership, MembershipStatus
from shops.models import Operator, OperatorRole

pytestmark = pytest.mark.django_db


# --- Reading ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["groups", "series_list", "operators"])
def test_list_pages_render_for_a_viewer(viewer_client, name):
    response = viewer_client.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 200


def test_object_pages_render_for_a_viewer(viewer_client, group, series, applicant, owner):
    link = InviteLink.objects.filter(group=applicant.group).get()
    for url in [
        reverse("dashboard:group_detail", args=[group.pk]),
        reverse("dashboard:group_detail", args=[applicant.group_id]),
        reverse("dashboard:series_detail", args=[series.pk]),
        reverse("dashboard:link_qr_png", args=[link.pk]),
        reverse("dashboard:link_qr_svg", args=[link.pk]),
    ]:
        assert viewer_client.get(url).status_code == 200, url


def test_a_viewer_sees_no_write_controls(viewer_client, applicant):
    html = viewer_client.get(reverse("dashboard:group_detail", args=[applicant.group_id])).content.decode()
    assert reverse("dashboard:member_action", args=[applicant.pk, "approve"]) not in html
    assert reverse("dashboard:group_transition", args=[applicant.group_id]) not in html
    assert reverse("dashboard:link_create", args=[applicant.group_id]) not in html
    assert "申请人甲" in html  # but the data is there


def test_anonymous_is_sent_to_sign_in(client, group):
    for url in [reverse("dashboard:groups"), reverse("dashboard:group_detail", args=[group.pk])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_user_without_a_seat_gets_the_no_shop_page(client, member):
    client.force_login(member)
    response = client.get(reverse("dashboard:groups"))
    assert response.status_code == 403
    assert "shops/no_shop.html" in [t.name for t in response.templates]
    assert "你还不是任何店铺的运营人员" in response.content.decode()


# --- Writing ----------------------------------------------------------------------------------------


def _write_requests(group, applicant, series, link):
    return [
        (reverse("dashboard:group_create"), {"name": "新群", "capacity": 100, "purpose": "sales", "threshold": "open"}),
        (
            reverse("dashboard:group_edit", args=[group.pk]),
            {"name": "改名", "capacity": 100, "purpose": "sales", "threshold": "open"},
        ),
        (reverse("dashboard:group_transition", args=[group.pk]), {"to_state": GroupState.COOLING}),
        (reverse("dashboard:member_action", args=[applicant.pk, "approve"]), {}),
        (reverse("dashboard:link_create", args=[group.pk]), {"channel": "poster"}),
        (reverse("dashboard:series_link_create", args=[series.pk]), {"channel": "poster"}),
        (reverse("dashboard:link_revoke", args=[link.pk]), {}),
        (reverse("dashboard:my_link", args=[group.pk]), {}),
        (
            reverse("dashboard:series_create"),
            {"name": "新系列", "capacity": 100, "purpose": "sales", "threshold": "open"},
        ),
    ]


def test_every_write_refuses_a_viewer_and_changes_nothing(viewer_client, group, applicant, series):
    link = InviteLink.objects.filter(group=applicant.group).get()
    before = (
        Group.objects.count(),
        GroupSeries.objects.count(),
        InviteLink.objects.count(),
        GroupTransition.objects.count(),
    )
    for url, data in _write_requests(group, applicant, series, link):
        assert viewer_client.post(url, data).status_code == 403, url
    assert (
        Group.objects.count(),
        GroupSeries.objects.count(),
        InviteLink.objects.count(),
        GroupTransition.objects.count(),
    ) == before
    group.refresh_from_db()
    applicant.refresh_from_db()
    link.refresh_from_db()
    assert (group.name, group.state) != ("改名", GroupState.COOLING)
    assert applicant.status == MembershipStatus.PENDING
    assert link.revoked_at is None


def test_create_pages_refuse_a_viewer(viewer_client):
    assert viewer_client.get(reverse("dashboard:group_create")).status_code == 403
    assert viewer_client.get(reverse("dashboard:series_create")).status_code == 403


def test_write_urls_do_not_take_get(operator_client, group):
    assert operator_client.get(reverse("dashboard:group_transition", args=[group.pk])).status_code == 405


@pytest.mark.parametrize(
    "url_name,args,data",
    [
        ("shop_settings", [], None),
        ("shop_settings", [], {"group_hard_cap": 300, "default_group_capacity": 100, "default_rotation_threshold": 90}),
        ("operator_add", [], {"email": "new@shop.test", "role": OperatorRole.OPERATOR}),
        ("operator_role", ["seat"], {"role": OperatorRole.OWNER}),
        ("operator_remove", ["seat"], {}),
    ],
)
def test_owner_pages_refuse_an_operator(operator_client, operator, shop, url_name, args, data):
    seat = Operator.objects.get(user=operator, shop=shop)
    url = reverse(f"dashboard:{url_name}", args=[seat.pk for _ in args])
    response = operator_client.get(url) if data is None else operator_client.post(url, data)
    assert response.status_code == 403
    seat.refresh_from_db()
    assert seat.role == OperatorRole.OPERATOR
    assert not Operator.objects.filter(user__email="new@shop.test").exists()
    shop.settings.refresh_from_db()
    assert shop.settings.group_hard_cap == 350


# --- Another shop's objects -------------------------------------------------------------------------

OBJECT_URLS = [
    ("GET", "group_detail", "group", None),
    ("GET", "group_edit", "group", None),
    ("POST", "group_edit", "group", {"name": "x", "capacity": 10, "purpose": "sales", "threshold": "open"}),
    ("POST", "group_transition", "group", {"to_state": GroupState.COOLING}),
    ("POST", "link_create", "group", {"channel": "poster"}),
    ("POST", "my_link", "group", {}),
    ("POST", "member_action:approve", "membership", {}),
    ("POST", "member_action:reject", "membership", {}),
    ("POST", "member_action:remove", "membership", {}),
    ("POST", "member_action:ban", "membership", {}),
    ("POST", "member_action:unban", "membership", {}),
    ("POST", "member_action:set_role", "membership", {"role": "admin"}),
    ("POST", "member_action:set_tags", "membership", {}),
    ("POST", "link_revoke", "link", {}),
    ("GET", "link_qr_png", "link", None),
    ("GET", "link_qr_svg", "link", None),
    ("GET", "link_poster", "link", None),
    ("GET", "series_detail", "series", None),
    ("POST", "series_link_create", "series", {"channel": "poster"}),
    ("POST", "operator_role", "seat", {"role": OperatorRole.VIEWER}),
    ("POST", "operator_remove", "seat", {}),
]


@pytest.mark.parametrize("method,target,kind,data", OBJECT_URLS, ids=[f"{m} {t}" for m, t, _k, _d in OBJECT_URLS])
def test_another_shops_object_is_not_found(owner_client, foreign, method, target, kind, data):
    obj = foreign[kind]
    name, _, action = target.partition(":")
    args = [obj.pk, action] if action else [obj.pk]
    url = reverse(f"dashboard:{name}", args=args)
    response = owner_client.get(url) if method == "GET" else owner_client.post(url, data)
    assert response.status_code == 404
    # and nothing of theirs moved
    assert Group.objects.get(pk=foreign["group"].pk).state == GroupState.ACTIVE
    assert Membership.objects.get(pk=foreign["membership"].pk).status == MembershipStatus.ACTIVE
    assert InviteLink.objects.get(pk=foreign["link"].pk).revoked_at is None
    assert InviteLink.objects.filter(shop=foreign["group"].shop).count() == 2  # their link + series code
    assert Operator.objects.get(pk=foreign["seat"].pk).role == OperatorRole.OWNER


def test_switching_to_a_shop_without_a_seat_is_not_found(owner_client, foreign):
    response = owner_client.post(reverse("dashboard:switch_shop"), {"shop": foreign["group"].shop_id})
    assert response.status_code == 404


def test_unknown_member_action_is_not_found(operator_client, applicant):
    response = operator_client.post(reverse("dashboard:member_action", args=[applicant.pk, "promote"]))
    assert response.status_code == 404


def test_another_shops_tag_cannot_be_set_on_a_member(operator_client, applicant, foreign):
    url = reverse("dashboard:member_action", args=[applicant.pk, "set_tags"])
    response = operator_client.post(url, {"tags": [foreign["tag"].pk]}, follow=True)
    assert response.status_code == 200
    assert list(applicant.tags.all()) == []
    assert any(m.level_tag == "error" for m in response.context["messages"])
