"""The group space's JSON API: members post, ask, reply, mark answered and read the contact; powers decide
announcing and hiding (403 without); outsiders get 404; operators list, announce, answer, hide, restore and
read first-reply times of their own shop only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from groups import space
from groups.models import MemberRole
from groups.space_models import PostKind, SpacePost
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory
from tests.groups.space_support import photo

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def posts_url(group):
    return f"/api/v1/me/groups/{group.pk}/space/posts/"


def test_a_member_asks_with_a_photo_and_an_admin_answers(people):
    group = people["group"]
    asker, admin = api_as(people[MemberRole.MEMBER]), api_as(people[MemberRole.ADMIN])

    created = asker.post(posts_url(group), {"kind": "question", "body": "怎么用？", "photos": [photo((60, 60))]})
    assert created.status_code == 201, created.json()
    question = created.json()
    assert question["kind"] == "question" and len(question["photos"]) == 1 and question["first_reply_at"] is None
    assert "phone" not in str(question["author"])

    replied = admin.post(f"{posts_url(group)}{question['id']}/replies/", {"body": "早晚各一次"}, format="json")
    assert replied.status_code == 201
    body = replied.json()
    assert body["first_responder"]["id"] == people[MemberRole.ADMIN].pk and body["first_reply_seconds"] >= 0
    assert [c["body"] for c in body["comments"]] == ["早晚各一次"]

    answered = asker.post(f"{posts_url(group)}{question['id']}/answered/")
    assert answered.status_code == 200 and answered.json()["answered_at"] is not None


def test_bad_input_is_a_400_naming_the_field(people):
    client = api_as(people[MemberRole.MEMBER])
    group = people["group"]
    for data, field in (({"kind": "poll", "body": "x"}, "kind"), ({"kind": "post", "body": ""}, "body")):
        response = client.post(posts_url(group), data, format="json")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    response = client.post(posts_url(group), {"kind": "post", "body": "x", "photos": [photo((10, 10), exif=False)] * 7})
    assert response.status_code == 400
    bad = client.post(posts_url(group), {"kind": "post", "body": "x", "photos": [_not_image()]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "photos"
    assert not SpacePost.objects.exists()


def _not_image():
    from tests.groups.space_support import not_an_image

    return not_an_image()


def test_powers_decide_announcing_and_hiding(people):
    group = people["group"]
    post = space.create_post(group=group, actor=space.Actor(people[MemberRole.CORE]), kind="post", body="晒单")
    for role in (MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER):
        client = api_as(people[role])
        assert client.post(posts_url(group), {"kind": "announcement", "body": "通知"}, format="json").status_code == 403
        assert client.post(f"{posts_url(group)}{post.pk}/hide/").status_code == 403
    owner = api_as(people[MemberRole.OWNER])
    assert owner.post(posts_url(group), {"kind": "announcement", "body": "通知"}, format="json").status_code == 201
    assert owner.post(f"{posts_url(group)}{post.pk}/hide/").status_code == 204
    listed = api_as(people[MemberRole.MEMBER]).get(posts_url(group)).json()["results"]
    assert [p["kind"] for p in listed] == ["announcement"]  # the hidden post is gone for members
    assert api_as(people[MemberRole.MEMBER]).get(f"{posts_url(group)}{post.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["pending", "other_group_member", "other_shop_member", "stranger"])
def test_outsiders_get_404_everywhere(people, who, operator):
    group = people["group"]
    post = space.create_post(group=group, actor=space.Actor(people[MemberRole.MEMBER]), kind="question", body="?")
    client = api_as(people[who])
    assert client.get(posts_url(group)).status_code == 404
    assert client.post(posts_url(group), {"kind": "post", "body": "x"}, format="json").status_code == 404
    assert client.get(f"{posts_url(group)}{post.pk}/").status_code == 404
    assert client.post(f"{posts_url(group)}{post.pk}/replies/", {"body": "x"}, format="json").status_code == 404
    assert client.post(f"{posts_url(group)}{post.pk}/answered/").status_code == 404
    assert client.post(f"{posts_url(group)}{post.pk}/hide/").status_code == 404
    assert client.get(f"/api/v1/me/groups/{group.pk}/space/contact/").status_code == 404
    assert APIClient().get(posts_url(group)).status_code in (401, 403)


def test_the_contact_shows_a_live_qr_code_only(people, operator):
    group = people["group"]
    url = f"/api/v1/me/groups/{group.pk}/space/contact/"
    client = api_as(people[MemberRole.MEMBER])
    assert client.get(url).json() == {"service_contact": "", "wechat_qr_url": None, "wechat_qr_expires_at": None}
    contact = space.set_contact(
        group=group,
        by=operator,
        service_contact="kf-9",
        wechat_qr=photo((200, 200)),
        wechat_qr_expires_at=timezone.now() + timedelta(days=3),
    )
    shown = client.get(url).json()
    assert shown["service_contact"] == "kf-9" and shown["wechat_qr_url"].endswith(
        f"/m/groups/{group.pk}/space/wechat-qr/"
    )
    type(contact).objects.filter(pk=contact.pk).update(wechat_qr_expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(url).json()["wechat_qr_url"] is None


def test_the_member_list_costs_constant_queries(people):
    group = people["group"]
    client = api_as(people[MemberRole.MEMBER])

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(posts_url(group)).status_code == 200
        return len(captured)

    space.create_post(
        group=group, actor=space.Actor(people[MemberRole.CORE]), kind="post", body="1", photos=[photo((9, 9))]
    )
    few = count()
    for i in range(8):
        space.create_post(
            group=group,
            actor=space.Actor(people[MemberRole.ACTIVE]),
            kind="question",
            body=f"{i}",
            photos=[photo((9, 9))],
        )
    assert count() == few


# --- Operators ------------------------------------------------------------------------------------------------


def test_operators_announce_answer_hide_and_restore_their_shops_posts(people, shop, other_shop):
    group = people["group"]
    question = space.create_post(group=group, actor=space.Actor(people[MemberRole.MEMBER]), kind="question", body="?")
    operator = api_as(OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user)
    viewer = api_as(OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user)
    stranger = api_as(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)
    base = f"/api/v1/shop/space/posts/{question.pk}"

    assert viewer.get(f"/api/v1/shop/groups/{group.pk}/space/posts/").status_code == 200
    assert viewer.post(f"{base}/hide/").status_code == 403
    for url in (f"{base}/replies/", f"{base}/answered/", f"{base}/hide/", f"{base}/restore/"):
        assert stranger.post(url, {"body": "x"}, format="json").status_code == 404
    assert stranger.get(f"/api/v1/shop/groups/{group.pk}/space/posts/").status_code == 404

    made = operator.post(f"/api/v1/shop/groups/{group.pk}/space/posts/", {"body": "本周六直播"}, format="json")
    assert made.status_code == 201 and made.json()["kind"] == PostKind.ANNOUNCEMENT
    assert operator.post(f"{base}/replies/", {"body": "可以"}, format="json").json()["first_reply_seconds"] >= 0
    assert operator.post(f"{base}/answered/").json()["answered_at"] is not None
    assert operator.post(f"{base}/hide/").json()["hidden_at"] is not None
    hidden = operator.get(f"/api/v1/shop/groups/{group.pk}/space/posts/?hidden=true").json()["results"]
    assert [p["id"] for p in hidden] == [question.pk]
    assert operator.post(f"{base}/restore/").json()["hidden_at"] is None
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"group.space.announce", "group.space.reply", "group.space.answered", "group.space.hide"} <= actions


def test_reply_times_per_group_and_responder(people, shop, other_shop):
    group, other = people["group"], people["other_group"]
    now = timezone.now()

    def question_answered_after(group, asker, responder, minutes):
        post = space.create_post(group=group, actor=space.Actor(asker), kind="question", body="?")
        SpacePost.objects.filter(pk=post.pk).update(created_at=now - timedelta(minutes=minutes))
        post.refresh_from_db()
        space.add_comment(post=post, actor=space.Actor(responder), body="答")

    admin, owner = people[MemberRole.ADMIN], people[MemberRole.OWNER]
    question_answered_after(group, people[MemberRole.MEMBER], admin, 2)
    question_answered_after(group, people[MemberRole.MEMBER], admin, 9)
    question_answered_after(group, people[MemberRole.ACTIVE], owner, 4)
    space.create_post(group=group, actor=space.Actor(people[MemberRole.CORE]), kind="question", body="没人答")
    question_answered_after(other, people["other_group_member"], people["other_group_member"], 1)  # own: no reply

    client = api_as(OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user)
    rows = client.get("/api/v1/shop/space/reply-times/groups/").json()["results"]
    by_group = {row["group"]["id"]: row for row in rows}
    assert by_group[group.pk]["asked"] == 4 and by_group[group.pk]["replied"] == 3
    assert by_group[group.pk]["within_target"] == 2  # 2 and 4 minutes against the default 5
    assert 9 * 60 - 5 <= by_group[group.pk]["slowest_seconds"] <= 9 * 60 + 5
    assert by_group[other.pk]["replied"] == 0
    responders = client.get("/api/v1/shop/space/reply-times/responders/").json()["results"]
    assert [(r["responder"]["id"], r["first_replies"], r["within_target"]) for r in responders] == [
        (admin.pk, 2, 1),
        (owner.pk, 1, 1),
    ]
    # The shop's own target: 10 minutes puts the slow one within.
    space.update_space_settings(shop_id=shop.pk, by=None, reply_target_minutes=10, qr_reminder_days=2)
    rows = client.get("/api/v1/shop/space/reply-times/groups/").json()["results"]
    assert {row["group"]["id"]: row["within_target"] for row in rows}[group.pk] == 3
    assert client.get("/api/v1/shop/space/reply-times/groups/?days=5").status_code == 400
    stranger = api_as(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)
    assert stranger.get("/api/v1/shop/space/reply-times/groups/").json()["results"] == []
