"""Who may do what in a group space, through the pages: every action × every role in the group, a pending
applicant, a member of another group of the shop, a member of another shop's group and a stranger; and on
the dashboard, every action × the shop's staff roles and another shop's owner.

A joined member reads and writes; announcing, marking another's question answered and hiding need the group
power (the owner 群主 and admins 群管理 hold it) in that group only; everyone else gets the project's 404.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from groups import services, space
from groups.models import MemberRole
from groups.space_models import GroupContact, PostKind, SpaceComment, SpacePost
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory
from tests.groups.space_support import photo

pytestmark = pytest.mark.django_db

MEMBERS = (MemberRole.OWNER, MemberRole.ADMIN, MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER)
POWERFUL = (MemberRole.OWNER, MemberRole.ADMIN)
OUTSIDERS = ("pending", "other_group_member", "other_shop_member", "stranger")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def space_world(people, operator):
    group = people["group"]
    question = space.create_post(
        group=group, actor=space.Actor(people[MemberRole.ACTIVE]), kind=PostKind.QUESTION, body="怎么用？"
    )
    post = space.create_post(
        group=group,
        actor=space.Actor(people[MemberRole.ACTIVE]),
        kind=PostKind.POST,
        body="晒单",
        photos=[photo((50, 50))],
    )
    hidden = space.create_post(
        group=group,
        actor=space.Actor(people[MemberRole.MEMBER]),
        kind=PostKind.POST,
        body="广告",
        photos=[photo((50, 50))],
    )
    space.hide_post(post=hidden, actor=space.Actor(operator, as_operator=True))
    space.set_contact(
        group=group,
        by=operator,
        service_contact="kf-001",
        wechat_qr=photo((300, 300)),
        wechat_qr_expires_at=timezone.now() + timedelta(days=5),
    )
    return {**people, "question": question, "post": post, "hidden": hidden, "operator": operator}


def test_reading_the_space_is_for_joined_members_only(space_world):
    group, post, hidden = space_world["group"], space_world["post"], space_world["hidden"]
    pages = [
        reverse("member:space", args=[group.pk]),
        reverse("member:space_post", args=[group.pk, post.pk]),
        reverse("member:space_photo", args=[group.pk, post.photos.get().pk]),
        reverse("member:space_wechat_qr", args=[group.pk]),
        reverse("member:space_post_create", args=[group.pk]),
    ]
    for role in MEMBERS:
        client = client_of(space_world[role])
        assert [client.get(url).status_code for url in pages] == [200] * len(pages), role
        home = client.get(pages[0]).content.decode()
        assert "kf-001" in home and "广告" not in home  # the contact; never the hidden post
        # The hidden post, its page and its photo are gone for members, whatever their role.
        assert client.get(reverse("member:space_post", args=[group.pk, hidden.pk])).status_code == 404
        assert client.get(reverse("member:space_photo", args=[group.pk, hidden.photos.get().pk])).status_code == 404
    for who in OUTSIDERS:
        client = client_of(space_world[who])
        assert [client.get(url).status_code for url in pages] == [404] * len(pages), who
    anonymous = Client().get(pages[0])
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_an_expired_qr_code_is_shown_to_nobody(space_world):
    group = space_world["group"]
    GroupContact.objects.filter(group=group).update(wechat_qr_expires_at=timezone.now() - timedelta(minutes=1))
    client = client_of(space_world[MemberRole.MEMBER])
    assert client.get(reverse("member:space_wechat_qr", args=[group.pk])).status_code == 404
    assert "space_wechat_qr" not in client.get(reverse("member:space", args=[group.pk])).content.decode()


@pytest.mark.parametrize("kind", [PostKind.POST, PostKind.QUESTION])
def test_every_member_posts_and_asks_outsiders_cannot(space_world, kind):
    group = space_world["group"]
    url = reverse("member:space_post_create", args=[group.pk])
    for role in MEMBERS:
        response = client_of(space_world[role]).post(url, {"kind": kind, "body": f"{role} 说"})
        assert response.status_code == 302, role
    for who in OUTSIDERS:
        assert client_of(space_world[who]).post(url, {"kind": kind, "body": "我也说"}).status_code == 404
    assert SpacePost.objects.filter(kind=kind, body__endswith=" 说").count() == len(MEMBERS)
    assert not SpacePost.objects.filter(body="我也说").exists()


def test_announcing_needs_the_power(space_world):
    group = space_world["group"]
    url = reverse("member:space_post_create", args=[group.pk])
    for role in MEMBERS:
        client_of(space_world[role]).post(url, {"kind": PostKind.ANNOUNCEMENT, "body": f"公告 {role}"})
    for who in OUTSIDERS:
        assert client_of(space_world[who]).post(url, {"kind": "announcement", "body": "公告 x"}).status_code == 404
    made = set(SpacePost.objects.filter(kind=PostKind.ANNOUNCEMENT).values_list("body", flat=True))
    assert made == {f"公告 {role}" for role in POWERFUL}


def test_every_member_replies_outsiders_cannot(space_world):
    group, question = space_world["group"], space_world["question"]
    url = reverse("member:space_reply", args=[group.pk, question.pk])
    for role in MEMBERS:
        assert client_of(space_world[role]).post(url, {"body": f"回复 {role}"}).status_code == 302
    for who in OUTSIDERS:
        assert client_of(space_world[who]).post(url, {"body": "外人回复"}).status_code == 404
    assert SpaceComment.objects.filter(post=question).count() == len(MEMBERS)
    question.refresh_from_db()
    assert question.first_responder == space_world[MemberRole.OWNER]  # the asker's own reply did not count


@pytest.mark.parametrize("role", MEMBERS)
def test_marking_anothers_question_answered_needs_the_power(space_world, role):
    group, question = space_world["group"], space_world["question"]
    response = client_of(space_world[role]).post(reverse("member:space_answered", args=[group.pk, question.pk]))
    allowed = role in POWERFUL or role == MemberRole.ACTIVE  # ACTIVE asked it
    assert response.status_code == (302 if allowed else 403)
    question.refresh_from_db()
    assert (question.answered_at is not None) == allowed


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_neither_answer_nor_hide(space_world, who):
    group, question = space_world["group"], space_world["question"]
    client = client_of(space_world[who])
    assert client.post(reverse("member:space_answered", args=[group.pk, question.pk])).status_code == 404
    assert client.post(reverse("member:space_hide", args=[group.pk, question.pk])).status_code == 404
    question.refresh_from_db()
    assert question.answered_at is None and question.hidden_at is None


@pytest.mark.parametrize("role", MEMBERS)
def test_hiding_needs_the_power(space_world, role):
    group, post = space_world["group"], space_world["post"]
    response = client_of(space_world[role]).post(reverse("member:space_hide", args=[group.pk, post.pk]))
    assert response.status_code == (302 if role in POWERFUL else 403)
    post.refresh_from_db()
    assert (post.hidden_at is not None) == (role in POWERFUL)


def test_powers_hold_in_ones_own_group_only(space_world):
    """The owner and an admin of group A are ordinary members of group B: there they cannot announce, answer
    others' questions or hide; in a group they are not in at all, everything is a 404."""
    other = space_world["other_group"]
    owner, admin = space_world[MemberRole.OWNER], space_world[MemberRole.ADMIN]
    services.add_member(group=other, user=owner, by=None)
    question = space.create_post(
        group=other, actor=space.Actor(space_world["other_group_member"]), kind="question", body="B 群的问题"
    )
    for person, refused in ((owner, 403), (admin, 404)):  # a member of B without the power; not in B at all
        client = client_of(person)
        client.post(reverse("member:space_post_create", args=[other.pk]), {"kind": "announcement", "body": "B 公告"})
        assert client.post(reverse("member:space_answered", args=[other.pk, question.pk])).status_code == refused
        assert client.post(reverse("member:space_hide", args=[other.pk, question.pk])).status_code == refused
    question.refresh_from_db()
    assert question.answered_at is None and question.hidden_at is None
    assert not SpacePost.objects.filter(group=other, kind=PostKind.ANNOUNCEMENT).exists()
    # And another shop's group is out of reach even for this group's owner.
    shop_b = space_world["other_shop_group"]
    assert client_of(owner).get(reverse("member:space", args=[shop_b.pk])).status_code == 404


def test_the_shops_operators_hold_the_powers_in_member_pages_too(space_world, shop, other_shop):
    """groups.powers decides: an operator of the shop who joined as an ordinary member may hide and answer; an
    operator of another shop in the same seat may not."""
    group, question, post = space_world["group"], space_world["question"], space_world["post"]
    ours = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    theirs = OperatorFactory(shop=other_shop, role=OperatorRole.OPERATOR).user
    for person in (ours, theirs):
        services.add_member(group=group, user=person, by=None)
    assert client_of(theirs).post(reverse("member:space_hide", args=[group.pk, post.pk])).status_code == 403
    assert client_of(ours).post(reverse("member:space_hide", args=[group.pk, post.pk])).status_code == 302
    assert client_of(ours).post(reverse("member:space_answered", args=[group.pk, question.pk])).status_code == 302
    post.refresh_from_db()
    question.refresh_from_db()
    assert post.hidden_by == ours and question.answered_by == ours


# --- The dashboard --------------------------------------------------------------------------------------------


def dashboard_actions(world):
    group, question, post, hidden = world["group"], world["question"], world["post"], world["hidden"]
    return {
        # name: (method, url, data, least role)
        "space": ("get", reverse("dashboard:group_space", args=[group.pk]), None, OperatorRole.VIEWER),
        "qr": ("get", reverse("dashboard:group_space_qr", args=[group.pk]), None, OperatorRole.VIEWER),
        "post": ("get", reverse("dashboard:space_post", args=[hidden.pk]), None, OperatorRole.VIEWER),
        "photo": ("get", reverse("dashboard:space_photo", args=[hidden.photos.get().pk]), None, OperatorRole.VIEWER),
        "times": ("get", reverse("dashboard:space_reply_times"), None, OperatorRole.VIEWER),
        "announce": (
            "post",
            reverse("dashboard:group_space_announce", args=[group.pk]),
            {"body": "运营公告"},
            OperatorRole.OPERATOR,
        ),
        "contact": (
            "post",
            reverse("dashboard:group_space_contact", args=[group.pk]),
            {"service_contact": "kf-002", "wechat_qr_expires_at": "2099-01-01 10:00"},
            OperatorRole.OPERATOR,
        ),
        "reply": (
            "post",
            reverse("dashboard:space_post_reply", args=[question.pk]),
            {"body": "运营回答"},
            OperatorRole.OPERATOR,
        ),
        "answered": ("post", reverse("dashboard:space_post_answered", args=[question.pk]), {}, OperatorRole.OPERATOR),
        "hide": ("post", reverse("dashboard:space_post_hide", args=[post.pk]), {}, OperatorRole.OPERATOR),
        "restore": ("post", reverse("dashboard:space_post_restore", args=[hidden.pk]), {}, OperatorRole.OPERATOR),
        "settings": (
            "post",
            reverse("dashboard:space_settings"),
            {"reply_target_minutes": 3, "qr_reminder_days": 2},
            OperatorRole.OWNER,
        ),
    }


RANK = {OperatorRole.VIEWER: 0, OperatorRole.OPERATOR: 1, OperatorRole.OWNER: 2}


@pytest.mark.parametrize(
    "action",
    [
        "space",
        "qr",
        "post",
        "photo",
        "times",
        "announce",
        "contact",
        "reply",
        "answered",
        "hide",
        "restore",
        "settings",
    ],
)
@pytest.mark.parametrize("role", ["viewer", "operator", "owner", "other_owner", "member"])
def test_dashboard_action_by_role(space_world, shop, other_shop, action, role):
    if role == "member":
        person = space_world[MemberRole.OWNER]  # the group's 群主 has no seat: the dashboard is not theirs
    elif role == "other_owner":
        person = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user
    else:
        person = OperatorFactory(shop=shop, role=role).user
    method, url, data, least = dashboard_actions(space_world)[action]
    before = AuditEntry.objects.count()
    response = getattr(client_of(person), method)(url, data or {})

    if role == "member":
        assert response.status_code == 403
    elif role == "other_owner":  # shop-wide pages are their own shop's; shop A's objects do not exist for them
        assert response.status_code == (200 if action == "times" else 302 if action == "settings" else 404), action
    elif RANK[role] >= RANK[least]:
        assert response.status_code in (200, 302), (action, response.status_code)
        if method == "post":
            assert AuditEntry.objects.count() > before, action  # every operator write is in the audit log
    else:
        assert response.status_code == 403
        assert AuditEntry.objects.count() == before
