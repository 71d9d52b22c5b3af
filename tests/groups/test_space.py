"""The group space's rules: posts, questions and first replies, announcements, hiding, photos, the WeChat
group QR code and contact, and the QR expiry reminder."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from groups import space
from groups.models import ActivityKind, MemberActivity, MemberRole
from groups.space_models import GroupContact, PostKind, SpacePost
from notifications.models import Notification
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory
from tests.groups.space_support import member_in, not_an_image, photo

pytestmark = pytest.mark.django_db

RANDOM_NAME = r"^space/\d{4}/\d{2}/[0-9a-f]{32}\.jpg$"


def as_member(user):
    return space.Actor(user)


def ask(group, user, body="这个面霜敏感肌能用吗？", **kwargs):
    return space.create_post(group=group, actor=as_member(user), kind=PostKind.QUESTION, body=body, **kwargs)


# --- Posts and photos ------------------------------------------------------------------------------------


def test_a_member_posts_with_photos_stored_clean_and_private(people, settings):
    group, member = people["group"], people[MemberRole.MEMBER]

    post = space.create_post(
        group=group, actor=as_member(member), kind=PostKind.POST, body="  今天的早餐  ", photos=[photo(), photo()]
    )

    assert post.body == "今天的早餐" and post.kind == PostKind.POST
    stored = list(post.photos.all())
    assert len(stored) == 2
    for item in stored:
        import re

        assert re.match(RANDOM_NAME, item.image.name), item.image.name
        assert item.image.path.startswith(str(settings.MEDIA_ROOT / "private"))
        with item.image.open("rb") as f:
            image = Image.open(BytesIO(f.read()))
        assert max(image.size) <= 1600 and not image.getexif()  # downscaled, EXIF (GPS) gone
    assert MemberActivity.objects.filter(group=group, user=member, kind=ActivityKind.SPACE).count() == 1


def test_media_never_serves_private_files(people, client):
    """The space's files sit in MEDIA_ROOT/private/, which /media/ refuses however the path is spelt."""
    group, member = people["group"], people[MemberRole.MEMBER]
    post = space.create_post(group=group, actor=as_member(member), kind=PostKind.POST, body="图", photos=[photo()])
    name = post.photos.get().image.name
    client.force_login(member)
    assert client.get(reverse("member:space_photo", args=[group.pk, post.photos.get().pk])).status_code == 200
    for path in (f"private/{name}", f"space/../private/{name}", f"/private/{name}", f"./private/{name}"):
        assert client.get(f"/media/{path}").status_code == 404, path


def test_bad_input_is_refused_and_nothing_is_written(people):
    group, member = people["group"], people[MemberRole.MEMBER]
    cases = [
        ({"body": "   "}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"body": "好", "photos": [photo(size=(20, 20))] * 7}, "photos"),
        ({"body": "好", "photos": [not_an_image()]}, "photos"),
        ({"body": "好", "kind": "poll"}, "kind"),
    ]
    for arguments, field in cases:
        kind = arguments.pop("kind", PostKind.POST)
        with pytest.raises(ValidationError) as refused:
            space.create_post(group=group, actor=as_member(member), kind=kind, **arguments)
        assert field in refused.value.message_dict
    assert not SpacePost.objects.exists()


def test_only_joined_members_write(people):
    group = people["group"]
    for who in ("pending", "other_group_member", "other_shop_member", "stranger"):
        with pytest.raises(ValidationError):
            space.create_post(group=group, actor=as_member(people[who]), kind=PostKind.POST, body="hi")
    assert not SpacePost.objects.exists()


# --- Questions and first replies ---------------------------------------------------------------------------


def test_the_first_reply_is_the_first_by_someone_other_than_the_asker(people):
    group, asker, admin, core = (people[k] for k in ("group", MemberRole.MEMBER, MemberRole.ADMIN, MemberRole.CORE))
    question = ask(group, asker)

    space.add_comment(post=question, actor=as_member(asker), body="补充：我是混合皮")
    question.refresh_from_db()
    assert question.first_reply_at is None  # the asker's own words are no reply

    first = space.add_comment(post=question, actor=as_member(admin), body="可以的，先在耳后试用")
    space.add_comment(post=question, actor=as_member(core), body="我用了一个月，没问题")
    question.refresh_from_db()
    assert question.first_reply_at == first.created_at and question.first_responder == admin
    assert question.first_reply_seconds >= 0
    assert question.answered_at is None  # replied is not answered


def test_a_reply_to_a_post_sets_no_first_reply(people):
    group = people["group"]
    post = space.create_post(group=group, actor=as_member(people[MemberRole.MEMBER]), kind=PostKind.POST, body="晒单")
    space.add_comment(post=post, actor=as_member(people[MemberRole.ADMIN]), body="好看")
    post.refresh_from_db()
    assert post.first_reply_at is None and post.first_responder is None


def test_the_asker_or_an_admin_marks_answered_others_may_not(people):
    group = people["group"]
    mine = ask(group, people[MemberRole.MEMBER])
    theirs = ask(group, people[MemberRole.ACTIVE])

    space.mark_answered(post=mine, actor=as_member(people[MemberRole.MEMBER]))
    for who in (MemberRole.CORE, MemberRole.MEMBER):
        with pytest.raises(PermissionDenied):
            space.mark_answered(post=theirs, actor=as_member(people[who]))
    space.mark_answered(post=theirs, actor=as_member(people[MemberRole.ADMIN]))

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.answered_by == people[MemberRole.MEMBER] and theirs.answered_by == people[MemberRole.ADMIN]
    again = space.mark_answered(post=mine, actor=as_member(people[MemberRole.MEMBER]))
    assert again.answered_by == people[MemberRole.MEMBER]  # a second tap changes nothing


def test_only_questions_are_marked_answered(people):
    post = space.create_post(group=people["group"], actor=as_member(people[MemberRole.OWNER]), kind="post", body="hi")
    with pytest.raises(ValidationError):
        space.mark_answered(post=post, actor=as_member(people[MemberRole.OWNER]))


# --- Announcements and hiding -------------------------------------------------------------------------------


def test_announcements_by_owner_admin_and_operators_only(people, operator):
    group = people["group"]
    for role in (MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER):
        with pytest.raises(PermissionDenied):
            space.create_post(group=group, actor=as_member(people[role]), kind=PostKind.ANNOUNCEMENT, body="通知")
    space.create_post(group=group, actor=as_member(people[MemberRole.OWNER]), kind=PostKind.ANNOUNCEMENT, body="1")
    space.create_post(group=group, actor=as_member(people[MemberRole.ADMIN]), kind=PostKind.ANNOUNCEMENT, body="2")
    by_operator = space.create_post(
        group=group, actor=space.Actor(operator, as_operator=True), kind=PostKind.ANNOUNCEMENT, body="3"
    )
    assert SpacePost.objects.filter(kind=PostKind.ANNOUNCEMENT).count() == 3
    entry = AuditEntry.objects.get(action="group.space.announce")
    assert entry.actor == operator and entry.target_id == by_operator.pk  # only the operator's write is audited


def test_a_hidden_post_is_kept_and_refuses_replies(people, operator):
    group = people["group"]
    post = space.create_post(group=group, actor=as_member(people[MemberRole.MEMBER]), kind="post", body="广告链接")

    with pytest.raises(PermissionDenied):
        space.hide_post(post=post, actor=as_member(people[MemberRole.CORE]))
    space.hide_post(post=post, actor=as_member(people[MemberRole.ADMIN]))
    post.refresh_from_db()
    assert post.hidden_at is not None and post.hidden_by == people[MemberRole.ADMIN]
    with pytest.raises(ValidationError):
        space.add_comment(post=post, actor=as_member(people[MemberRole.OWNER]), body="?")

    space.restore_post(post=post, actor=space.Actor(operator, as_operator=True))
    post.refresh_from_db()
    assert post.hidden_at is None
    assert AuditEntry.objects.filter(action="group.space.restore", actor=operator).count() == 1


# --- WeChat group QR code, contact and the reminder ------------------------------------------------------------


def test_the_qr_code_needs_a_future_expiry_and_is_stored_clean(group, operator):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        space.set_contact(group=group, by=operator, service_contact="kf001", wechat_qr=photo())
    assert "wechat_qr_expires_at" in refused.value.message_dict
    with pytest.raises(ValidationError):
        space.set_contact(
            group=group, by=operator, service_contact="", wechat_qr=photo(), wechat_qr_expires_at=now - timedelta(1)
        )
    with pytest.raises(ValidationError) as refused:
        space.set_contact(
            group=group,
            by=operator,
            service_contact="",
            wechat_qr=not_an_image(),
            wechat_qr_expires_at=now + timedelta(1),
        )
    assert "wechat_qr" in refused.value.message_dict
    assert not GroupContact.objects.exists()

    contact = space.set_contact(
        group=group,
        by=operator,
        service_contact="kf001",
        wechat_qr=photo(),
        wechat_qr_expires_at=now + timedelta(days=6),
    )
    assert contact.qr_shown() and not contact.qr_shown(now + timedelta(days=7))
    assert max(Image.open(contact.wechat_qr.path).size) <= 1000
    entry = AuditEntry.objects.get(action="group.space.contact")
    assert entry.after["service_contact"] == "kf001"

    space.set_contact(group=group, by=operator, service_contact="kf002", remove_qr=True)
    contact.refresh_from_db()
    assert not contact.wechat_qr and contact.wechat_qr_expires_at is None and contact.service_contact == "kf002"


def test_the_expiry_reminder_reaches_each_operator_once(group, shop, operator, owner, viewer):
    now = timezone.now()
    space.set_contact(
        group=group, by=operator, service_contact="", wechat_qr=photo(), wechat_qr_expires_at=now + timedelta(days=3)
    )
    assert space.remind_expiring_wechat_qr(now=now) == 0  # three days out: the default is two days before

    later = now + timedelta(days=1, hours=1)
    assert space.remind_expiring_wechat_qr(now=later) == 2  # the owner and the operator; not the viewer
    assert space.remind_expiring_wechat_qr(now=later + timedelta(hours=1)) == 0  # once per code and expiry
    reminded = set(Notification.objects.filter(kind="space_qr_expiring").values_list("user_id", flat=True))
    assert reminded == {operator.pk, owner.pk}
    note = Notification.objects.filter(kind="space_qr_expiring").first()
    assert group.name in note.body and note.url == reverse("dashboard:group_space", args=[group.pk])

    # A new code (new expiry) is reminded about again; an expired one never.
    space.set_contact(
        group=group,
        by=operator,
        service_contact="",
        wechat_qr=photo(),
        wechat_qr_expires_at=later + timedelta(days=1),
    )
    assert space.remind_expiring_wechat_qr(now=later) == 2
    assert space.remind_expiring_wechat_qr(now=later + timedelta(days=2)) == 0


def test_the_reminder_follows_the_shops_days(group, shop, operator):
    space.update_space_settings(shop_id=shop.pk, by=operator, reply_target_minutes=5, qr_reminder_days=5)
    now = timezone.now()
    space.set_contact(
        group=group, by=operator, service_contact="", wechat_qr=photo(), wechat_qr_expires_at=now + timedelta(days=4)
    )
    assert space.remind_expiring_wechat_qr(now=now) == 1


def test_the_reminder_job_is_listed_and_runs_under_its_lease(group, operator):
    from groups.tasks import remind_expiring_wechat_qr
    from shequn.jobs import JOB_LABELS
    from shequn.models import JobRun

    space.set_contact(
        group=group,
        by=operator,
        service_contact="",
        wechat_qr=photo(),
        wechat_qr_expires_at=timezone.now() + timedelta(hours=5),
    )
    assert "wechat-qr-expiry" in JOB_LABELS
    assert remind_expiring_wechat_qr() == 1
    assert JobRun.objects.get(job="wechat-qr-expiry").items == 1


def test_space_settings_are_bounded_and_audited(shop, owner):
    with pytest.raises(ValidationError):
        space.update_space_settings(shop_id=shop.pk, by=owner, reply_target_minutes=0, qr_reminder_days=2)
    space.update_space_settings(shop_id=shop.pk, by=owner, reply_target_minutes=10, qr_reminder_days=3)
    entry = AuditEntry.objects.get(action="group.space.settings")
    assert entry.before == {"reply_target_minutes": 5, "qr_reminder_days": 2}
    assert entry.after == {"reply_target_minutes": 10, "qr_reminder_days": 3}


# --- Lists cost a constant number of queries -------------------------------------------------------------------


def _queries(client, url) -> int:
    client.get(url)  # warm: the session and the inbox count settle on the first request
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_member_space_and_a_post_cost_constant_queries(client, people):
    group, member = people["group"], people[MemberRole.MEMBER]
    client.force_login(member)
    url = reverse("member:space", args=[group.pk])

    def add(n):
        for i in range(n):
            post = ask(group, people[MemberRole.CORE], body=f"问题{i}", photos=[photo(size=(40, 40))])
            space.add_comment(post=post, actor=as_member(people[MemberRole.ADMIN]), body="答", photos=[photo((30, 30))])
        space.create_post(group=group, actor=as_member(people[MemberRole.OWNER]), kind="announcement", body="公告")
        return post

    post = add(1)
    few, few_post = _queries(client, url), _queries(client, reverse("member:space_post", args=[group.pk, post.pk]))
    post = add(8)
    assert _queries(client, url) == few
    assert _queries(client, reverse("member:space_post", args=[group.pk, post.pk])) == few_post
    for i in range(5):
        space.add_comment(post=post, actor=as_member(people[MemberRole.ACTIVE]), body=f"再答{i}")
    assert _queries(client, reverse("member:space_post", args=[group.pk, post.pk])) == few_post


def test_the_dashboard_lists_cost_constant_queries(client, people, shop):
    staff = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    client.force_login(staff)
    group = people["group"]

    def add(n):
        for i in range(n):
            post = ask(group, people[MemberRole.MEMBER], body=f"问题{i}", photos=[photo(size=(40, 40))])
            space.add_comment(
                post=post, actor=as_member(people[MemberRole.ADMIN if i % 2 else MemberRole.OWNER]), body="答"
            )

    add(1)
    urls = [reverse("dashboard:group_space", args=[group.pk]), reverse("dashboard:space_reply_times")]
    before = [_queries(client, u) for u in urls]
    add(9)
    member_in(people["other_group"])
    ask(people["other_group"], people["other_group_member"])
    assert [_queries(client, u) for u in urls] == before
