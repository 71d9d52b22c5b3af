"""Who may call what: another shop's objects are a 404, viewers only read, members without a seat get 403."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from groups import services
from groups.models import Group, GroupState, GroupTransition, InviteLink, MembershipStatus
from shops.models import OperatorRole
from shops.tenancy import SESSION_SHOP_KEY
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, UserFactory

from .conftest import errors_of

# (method, URL name, which of shop B's objects goes in the URL, extra URL args, body)
OBJECT_ENDPOINTS = [
    ("get", "api-shop-group", "group", [], None),
    ("patch", "api-shop-group", "group", [], {"name": "抢来的群"}),
    ("post", "api-shop-group-transition", "group", [], {"to_state": "archived"}),
    ("get", "api-shop-group-members", "group", [], None),
    ("get", "api-shop-group-links", "group", [], None),
    ("post", "api-shop-group-links", "group", [], {"channel": "poster"}),
    *[
        ("post", "api-shop-member-action", "membership", [action], body)
        for action, body in [
            ("approve", {}),
            ("reject", {}),
            ("remove", {}),
            ("ban", {}),
            ("unban", {}),
            ("set-role", {"role": "admin"}),
        ]
    ],
    ("post", "api-shop-link-revoke", "link", [], None),
    ("get", "api-shop-series-detail", "series", [], None),
]


def _call(client, method, name, obj, extra, body):
    return getattr(client, method)(reverse(name, args=[obj.pk, *extra]), body, format="json")


@pytest.mark.parametrize(
    ("method", "name", "target", "extra", "body"),
    OBJECT_ENDPOINTS,
    ids=[f"{m}-{n}-{'-'.join(e)}" for m, n, _t, e, _b in OBJECT_ENDPOINTS],
)
def test_another_shops_objects_are_not_found(operator_api, shop_b, method, name, target, extra, body):
    response = _call(operator_api, method, name, shop_b[target], extra, body)

    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "not_found"
    group, membership, link = (Group.objects.get(pk=shop_b["group"].pk), shop_b["membership"], shop_b["link"])
    membership.refresh_from_db()
    link.refresh_from_db()
    assert group.name != "抢来的群" and group.state == GroupState.ACTIVE
    assert membership.status == MembershipStatus.ACTIVE and membership.role == "member"
    assert link.revoked_at is None
    assert InviteLink.objects.filter(group=group).count() == 1
    assert not GroupTransition.objects.exists()


def test_lists_never_show_another_shops_objects(operator_api, shop_b):
    groups = operator_api.get(reverse("api-shop-groups"), {"series": shop_b["series"].pk}).json()
    series = operator_api.get(reverse("api-shop-series")).json()

    assert groups["count"] == 0
    assert series["count"] == 0


# (method, URL name, needs a group id, body)
WRITES = [
    ("post", "api-shop-groups", False, {"name": "新群"}),
    ("patch", "api-shop-group", True, {"name": "改名"}),
    ("post", "api-shop-group-transition", True, {"to_state": "archived"}),
    ("post", "api-shop-group-links", True, {}),
    ("post", "api-shop-series", False, {"name": "系列"}),
]


@pytest.mark.parametrize(("method", "name", "with_group", "body"), WRITES, ids=[f"{w[0]}-{w[1]}" for w in WRITES])
def test_a_viewer_may_not_write(viewer_api, group, method, name, with_group, body):
    url = reverse(name, args=[group.pk] if with_group else [])

    response = getattr(viewer_api, method)(url, body, format="json")

    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "permission_denied"
    group.refresh_from_db()
    assert group.name != "改名" and group.state == GroupState.ACTIVE
    assert Group.objects.count() == 1
    assert not InviteLink.objects.exists()


def test_a_viewer_may_not_decide_on_members_or_revoke_links(viewer_api, group):
    membership = services.add_member(group=group, user=UserFactory(), by=None)
    link = InviteLinkFactory(group=group)

    remove = viewer_api.post(reverse("api-shop-member-action", args=[membership.pk, "remove"]), {}, format="json")
    revoke = viewer_api.post(reverse("api-shop-link-revoke", args=[link.pk]))

    assert remove.status_code == revoke.status_code == 403
    membership.refresh_from_db()
    link.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and link.revoked_at is None


@pytest.mark.parametrize(
    "name", ["api-shop-groups", "api-shop-group", "api-shop-group-members", "api-shop-group-links", "api-shop-series"]
)
def test_a_viewer_may_read(viewer_api, group, name):
    args = [group.pk] if name not in ("api-shop-groups", "api-shop-series") else []

    assert viewer_api.get(reverse(name, args=args)).status_code == 200


SHOP_READS = ["api-shop-groups", "api-shop-group", "api-shop-group-members", "api-shop-group-links", "api-shop-series"]


@pytest.mark.parametrize("name", SHOP_READS)
def test_a_member_without_a_seat_gets_403_on_shop_endpoints(member_api, group, name):
    args = [group.pk] if name not in ("api-shop-groups", "api-shop-series") else []

    response = member_api.get(reverse(name, args=args))

    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "no_shop_seat"


def test_a_member_without_a_seat_cannot_create(member_api):
    response = member_api.post(reverse("api-shop-groups"), {"name": "新群"}, format="json")

    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "no_shop_seat"
    assert not Group.objects.exists()


@pytest.mark.parametrize("name", SHOP_READS)
def test_shop_endpoints_need_sign_in(api, group, name):
    args = [group.pk] if name not in ("api-shop-groups", "api-shop-series") else []

    response = api.get(reverse(name, args=args))

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"


def test_the_operators_session_shop_decides_which_shop_they_work_in(operator, other_shop, shop):
    """A multi-shop operator on a Django session works in the shop chosen in the session."""
    OperatorFactory(shop=other_shop, user=operator, role=OperatorRole.OPERATOR)
    in_a, in_b = GroupFactory(shop=shop), GroupFactory(shop=other_shop)
    api = APIClient()
    api.force_login(operator)
    session = api.session
    session[SESSION_SHOP_KEY] = other_shop.pk
    session.save()

    ids = [g["id"] for g in api.get(reverse("api-shop-groups")).json()["results"]]

    assert ids == [in_b.pk]
    assert api.get(reverse("api-shop-group", args=[in_a.pk])).status_code == 404
