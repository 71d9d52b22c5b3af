"""The member API: invite landing, joining, my groups, leaving, my invite link."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from django.utils import timezone
from PIL import Image

from groups import services
from groups.models import GroupState, InviteLink, Membership, MembershipStatus, Threshold
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory

from .conftest import errors_of


def link_url(code: str) -> str:
    return reverse("api-link", args=[code])


def join_url(code: str) -> str:
    return reverse("api-link-join", args=[code])


@pytest.fixture
def inviter(db):
    return UserFactory(display_name="", phone="+8613812345678")


@pytest.fixture
def link(group, inviter):
    return InviteLinkFactory(group=group, inviter=inviter)


# --- Landing --------------------------------------------------------------------------------------


def test_landing_shows_the_group_to_anyone_and_counts_the_open(api, group, link):
    group.description, group.rules, group.entry_question = "宝妈交流", "禁止广告", ""
    group.save()

    response = api.get(link_url(link.code))

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == link.code
    assert body["target_kind"] == "group"
    assert body["name"] == group.name
    assert body["description"] == "宝妈交流"
    assert body["rules"] == "禁止广告"
    assert body["cover_url"] is None
    assert body["member_count"] == 0
    assert body["capacity"] == 200
    assert body["threshold"] == "open"
    assert body["entry_price"] is None
    assert body["problem"] is None and body["problem_message"] is None
    link.refresh_from_db()
    assert link.open_count == 1
    api.get(link_url(link.code))
    link.refresh_from_db()
    assert link.open_count == 2


def test_landing_never_shows_the_inviters_phone_number(api, link, inviter):
    body = api.get(link_url(link.code)).json()

    assert body["inviter_name"] == "138****5678"
    assert "13812345678" not in str(body)


def test_landing_of_a_series_link(api, shop, operator):
    series = services.create_series(
        shop=shop, name="护肤交流", by=operator, capacity=100, threshold=Threshold.PAID, entry_price=Decimal("9.90")
    )
    code = series.invite_links.get().code

    body = api.get(link_url(code)).json()

    assert body["target_kind"] == "series"
    assert body["name"] == "护肤交流"
    assert body["member_count"] is None and body["capacity"] is None
    assert body["threshold"] == "paid"
    assert body["entry_price"] == "9.90"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"revoked_at": timezone.now()}, "revoked"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
        ({"max_uses": 1, "use_count": 1}, "exhausted"),
    ],
)
def test_landing_tells_why_a_link_cannot_admit(api, link, change, problem):
    InviteLink.objects.filter(pk=link.pk).update(**change)

    body = api.get(link_url(link.code)).json()

    assert body["problem"] == problem
    assert body["problem_message"] == services.JoinRefused(problem).message


def test_landing_of_a_full_group(api, group, link):
    group.capacity = 2
    group.save()
    for _ in range(2):
        services.add_member(group=group, user=UserFactory(), by=None)

    body = api.get(link_url(link.code)).json()

    assert body["problem"] == "full"
    assert body["member_count"] == 2


def test_landing_of_an_unknown_code_is_a_404_in_the_error_shape(api):
    response = api.get(link_url("no-such-code"))

    assert response.status_code == 404
    assert errors_of(response) == [
        {"field": None, "code": "invalid", "message": services.JoinRefused("invalid").message}
    ]


# --- Joining --------------------------------------------------------------------------------------


def test_join_creates_an_active_membership_then_returns_it_again(member_api, member, group, link):
    response = member_api.post(join_url(link.code), {}, format="json")

    assert response.status_code == 201
    body = response.json()
    membership = Membership.objects.get(group=group, user=member)
    assert body["id"] == membership.pk
    assert body["group"] == {"id": group.pk, "name": group.name, "shop_name": group.shop.name}
    assert body["status"] == "active"
    assert body["role"] == "member"
    assert body["joined_at"] is not None

    again = member_api.post(join_url(link.code), {}, format="json")

    assert again.status_code == 200
    assert again.json()["id"] == membership.pk
    group.refresh_from_db()
    assert group.active_member_count == 1


def test_join_an_approval_group_asks_to_join(member_api, group, link):
    group.threshold = Threshold.APPROVAL
    group.save()

    response = member_api.post(join_url(link.code), {"answer": "朋友推荐"}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert response.json()["joined_at"] is None


def test_rejoining_after_leaving_is_a_change(member_api, member, group, link):
    membership = services.add_member(group=group, user=member, by=None)
    services.leave(membership=membership)

    response = member_api.post(join_url(link.code), {}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "active"


def test_join_through_a_series_link(member_api, member, shop, operator):
    series = services.create_series(shop=shop, name="护肤交流", by=operator)
    code = series.invite_links.get().code

    response = member_api.post(join_url(code), {}, format="json")

    assert response.status_code == 201
    assert response.json()["group"]["id"] == series.groups.get().pk


def _refusal(member_api, code, *, answer=""):
    return member_api.post(join_url(code), {"answer": answer}, format="json")


def test_join_refused_when_the_group_is_full(member_api, group, link):
    group.capacity = 2
    group.save()
    for _ in range(2):
        services.add_member(group=group, user=UserFactory(), by=None)

    response = _refusal(member_api, link.code)

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "full"


def test_join_refused_when_the_link_is_used_up(member_api, link):
    InviteLink.objects.filter(pk=link.pk).update(max_uses=1, use_count=1)

    response = _refusal(member_api, link.code)

    assert response.status_code == 409
    assert errors_of(response) == [
        {"field": None, "code": "exhausted", "message": services.JoinRefused("exhausted").message}
    ]


def test_join_refused_when_banned(member_api, member, group, link):
    services.ban(membership=services.add_member(group=group, user=member, by=None), by=None)

    response = _refusal(member_api, link.code)

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "banned"
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.BANNED


def test_join_refused_when_the_link_expired(member_api, link):
    InviteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _refusal(member_api, link.code)

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "expired"


@pytest.mark.parametrize(("state", "code"), [(GroupState.PREPARING, "not_open"), (GroupState.ARCHIVED, "archived")])
def test_join_refused_when_the_group_is_not_joinable(member_api, group, link, state, code):
    group.state = state
    group.save()

    response = _refusal(member_api, link.code)

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == code


def test_join_refused_with_an_unknown_code(member_api):
    response = _refusal(member_api, "no-such-code")

    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "invalid"


def test_join_a_submission_group_needs_an_answer(member_api, member, group, link):
    group.threshold, group.entry_question = Threshold.SUBMISSION, "发一张你的作品"
    group.save()

    response = _refusal(member_api, link.code, answer="   ")

    assert response.status_code == 400
    assert errors_of(response) == [
        {"field": "answer", "code": "answer_required", "message": services.JoinRefused("answer_required").message}
    ]
    assert not Membership.objects.filter(user=member).exists()
    assert _refusal(member_api, link.code, answer="作品链接").status_code == 201


def test_join_needs_a_signed_in_member(api, link):
    response = api.post(join_url(link.code), {}, format="json")

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"
    assert not Membership.objects.exists()


# --- My groups and leaving ------------------------------------------------------------------------


def test_my_memberships_lists_only_my_live_memberships(member_api, member, shop):
    mine = services.add_member(group=GroupFactory(shop=shop), user=member, by=None)
    left = services.add_member(group=GroupFactory(shop=shop), user=member, by=None)
    services.leave(membership=left)
    services.add_member(group=GroupFactory(shop=shop), user=UserFactory(), by=None)  # someone else's

    response = member_api.get(reverse("api-my-memberships"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [m["id"] for m in body["results"]] == [mine.pk]


def test_my_memberships_needs_sign_in(api):
    response = api.get(reverse("api-my-memberships"))

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"


def test_leave_a_group(member_api, member, group):
    membership = services.add_member(group=group, user=member, by=None)

    response = member_api.post(reverse("api-membership-leave", args=[membership.pk]))

    assert response.status_code == 200
    assert response.json()["status"] == "left"
    group.refresh_from_db()
    assert group.active_member_count == 0
    again = member_api.post(reverse("api-membership-leave", args=[membership.pk]))
    assert again.status_code == 400
    assert errors_of(again)[0]["field"] is None


def test_leaving_someone_elses_membership_is_a_404(member_api, group):
    theirs = services.add_member(group=group, user=UserFactory(), by=None)

    response = member_api.post(reverse("api-membership-leave", args=[theirs.pk]))

    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == MembershipStatus.ACTIVE


# --- My invite link -------------------------------------------------------------------------------


def test_my_invite_link_is_made_once_and_points_at_the_member_pages(member_api, member, group):
    services.add_member(group=group, user=member, by=None)
    url = reverse("api-my-invite-link", args=[group.pk])

    response = member_api.post(url)

    assert response.status_code == 200
    body = response.json()
    link = InviteLink.objects.get(inviter=member, group=group, is_personal=True)
    assert body == {
        "code": link.code,
        "url": f"http://testserver/m/j/{link.code}/",
        "qr_png_url": f"http://testserver/m/links/{link.code}/qr.png",
        "poster_url": f"http://testserver/m/links/{link.code}/poster.png",
        "join_count": 0,
        "open_count": 0,
    }
    # The QR and poster addresses are built as strings: check they still name the member H5 routes.
    assert resolve(f"/m/links/{link.code}/qr.png").url_name == "invite_qr"
    assert resolve(f"/m/links/{link.code}/poster.png").url_name == "invite_poster"
    assert member_api.post(url).json()["code"] == link.code


def test_my_invite_link_counts_opens_and_joins(member_api, member, group, client_for):
    services.add_member(group=group, user=member, by=None)
    url = reverse("api-my-invite-link", args=[group.pk])
    code = member_api.post(url).json()["code"]
    friend = client_for(UserFactory())

    friend.get(link_url(code))
    friend.post(join_url(code), {}, format="json")

    body = member_api.post(url).json()
    assert (body["open_count"], body["join_count"]) == (1, 1)


def test_my_invite_link_to_a_group_i_am_not_in_is_a_404(member_api, group):
    response = member_api.post(reverse("api-my-invite-link", args=[group.pk]))

    assert response.status_code == 404
    assert not InviteLink.objects.exists()


def test_a_pending_member_cannot_invite_yet(member_api, member, group, link):
    group.threshold = Threshold.APPROVAL
    group.save()
    services.join_via_link(user=member, code=link.code)

    response = member_api.post(reverse("api-my-invite-link", args=[group.pk]))

    assert response.status_code == 400
    assert errors_of(response)[0]["code"] == "invalid"


def test_landing_gives_the_cover_as_an_absolute_url(api, group, link):
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(image, format="PNG")
    group.cover = SimpleUploadedFile("cover.png", image.getvalue(), content_type="image/png")
    group.save()

    cover_url = api.get(link_url(link.code)).json()["cover_url"]

    assert cover_url == f"http://testserver{group.cover.url}"
