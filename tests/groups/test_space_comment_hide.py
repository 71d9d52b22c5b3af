"""Hiding one reply in the group space: the hide_posts power decides (群主/群管理 in their own group, the shop's
operators), the reply is kept with who hid it, members no longer read it (nor its photos), the question's
first-reply time stays, and every hide and restore is in the audit log with its author."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from groups import space
from groups.models import MemberRole
from groups.space_models import PostKind, SpaceComment
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory, ShopFactory
from tests.groups.space_support import member_in, photo

pytestmark = pytest.mark.django_db


def browser_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def thread(people):
    group = people["group"]
    question = space.create_post(
        group=group, actor=space.Actor(people[MemberRole.MEMBER]), kind=PostKind.QUESTION, body="能退吗？"
    )
    rude = space.add_comment(
        post=question, actor=space.Actor(people[MemberRole.ACTIVE]), body="广告：加我微信", photos=[photo((40, 40))]
    )
    return question, rude


@pytest.mark.parametrize("role", [MemberRole.OWNER, MemberRole.ADMIN])
def test_a_steward_hides_a_reply_in_their_group(people, thread, role):
    question, rude = thread
    steward = people[role]
    hide = reverse("member:space_comment_hide", args=[people["group"].pk, question.pk, rude.pk])
    assert browser_as(steward).post(hide).status_code == 302
    rude.refresh_from_db()
    assert rude.hidden_at and rude.hidden_by == steward
    entry = AuditEntry.objects.get(action="group.space.comment.hide")
    assert entry.actor == steward and entry.target_id == rude.pk

    member = browser_as(people[MemberRole.MEMBER])
    page = member.get(reverse("member:space_post", args=[people["group"].pk, question.pk]))
    assert "广告：加我微信" not in page.text
    assert member.get(reverse("member:space_photo", args=[people["group"].pk, rude.photos.get().pk])).status_code == 404
    api = api_as(people[MemberRole.MEMBER]).get(f"/api/v1/me/groups/{people['group'].pk}/space/posts/{question.pk}/")
    assert api.json()["comments"] == [] and api.json()["comment_count"] == 0
    question.refresh_from_db()
    assert question.first_responder_id == people[MemberRole.ACTIVE].pk  # the reply was given: its time stays


@pytest.mark.parametrize("role", [MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER])
def test_members_without_the_power_are_refused(people, thread, role):
    question, rude = thread
    url = reverse("member:space_comment_hide", args=[people["group"].pk, question.pk, rude.pk])
    assert browser_as(people[role]).post(url).status_code == 403
    api = f"/api/v1/me/groups/{people['group'].pk}/space/posts/{question.pk}/replies/{rude.pk}/hide/"
    assert api_as(people[role]).post(api).status_code == 403
    with pytest.raises(PermissionDenied):
        space.hide_comment(comment=rude, actor=space.Actor(people[role]))
    rude.refresh_from_db()
    assert rude.hidden_at is None and not AuditEntry.objects.filter(action="group.space.comment.hide").exists()


def test_a_steward_of_another_group_finds_nothing_to_hide(people, thread):
    question, rude = thread
    other_owner = member_in(people["other_group"], MemberRole.OWNER)
    url = reverse("member:space_comment_hide", args=[people["group"].pk, question.pk, rude.pk])
    assert browser_as(other_owner).post(url).status_code == 404
    # Their own group's URL with this reply: not a reply of any post there.
    url = reverse("member:space_comment_hide", args=[people["other_group"].pk, question.pk, rude.pk])
    assert browser_as(other_owner).post(url).status_code == 404
    with pytest.raises(PermissionDenied):  # the service asks groups.powers too
        space.hide_comment(comment=rude, actor=space.Actor(other_owner))
    rude.refresh_from_db()
    assert rude.hidden_at is None


def test_operators_hide_and_restore_in_their_shop_only(people, thread, shop):
    question, rude = thread
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    viewer = OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user
    stranger = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    hide, restore = (reverse(f"dashboard:space_comment_{a}", args=[rude.pk]) for a in ("hide", "restore"))
    assert browser_as(stranger).post(hide).status_code == 404
    assert browser_as(viewer).post(hide).status_code == 403
    assert api_as(stranger).post(f"/api/v1/shop/space/replies/{rude.pk}/hide/").status_code == 404
    assert SpaceComment.objects.get(pk=rude.pk).hidden_at is None

    assert api_as(operator).post(f"/api/v1/shop/space/replies/{rude.pk}/hide/").status_code == 200
    page = browser_as(operator).get(reverse("dashboard:space_post", args=[question.pk]))
    assert "广告：加我微信" in page.text and 'data-testid="comment-hidden"' in page.text  # kept for the shop
    assert browser_as(operator).post(restore).status_code == 302
    assert SpaceComment.objects.get(pk=rude.pk).hidden_at is None
    assert list(
        AuditEntry.objects.order_by("pk")
        .filter(action__startswith="group.space.comment")
        .values_list("action", "actor")
    ) == [
        ("group.space.comment.hide", operator.pk),
        ("group.space.comment.restore", operator.pk),
    ]


def test_hiding_twice_changes_nothing_the_second_time(people, thread):
    _question, rude = thread
    space.hide_comment(comment=rude, actor=space.Actor(people[MemberRole.ADMIN]))
    again = SpaceComment.objects.get(pk=rude.pk)
    space.hide_comment(comment=again, actor=space.Actor(people[MemberRole.OWNER]))
    again.refresh_from_db()
    assert again.hidden_by == people[MemberRole.ADMIN]
    assert AuditEntry.objects.filter(action="group.space.comment.hide").count() == 1
