"""The group space's rules (群空间): who may post what, replies and first-reply times, hiding, the WeChat
group QR code and service contact, and the QR expiry reminder.

Guarantees:
- only a joined (active) member writes in a group's space from the member side (operators write from the
  dashboard, each write in the shop's audit log); announcing, hiding and marking another's question answered
  need the group power, decided by groups.powers alone (PermissionDenied, a 403, when it is lacking);
- a question's first reply is the first reply by someone other than the asker, set exactly once by one
  conditional UPDATE (two replies at once: the one that commits first is the first reply);
- a hidden post is kept with who hid it and when; no member reads it, its comments or its photos;
- photos pass shequn.images (Pillow-decoded, size-limited, re-encoded without metadata, random names) and
  are stored outside /media/, served only to the group's joined members and its shop's staff;
- the QR expiry reminder goes to each of the shop's owners and operators once per code and expiry date
  (the notification's key), however often the job runs.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Category
from notifications.services import notify
from shequn import images
from shequn.jobs import JobResult
from shops import audit
from shops.models import Operator, OperatorRole

from . import powers
from .activity import record_activity
from .models import ActivityKind, Group, Membership, MembershipStatus
from .powers import GroupPower
from .space_models import (
    COMMENT_MAX_LENGTH,
    CONTACT_MAX_LENGTH,
    POST_MAX_LENGTH,
    GroupContact,
    PostKind,
    SpaceComment,
    SpacePhoto,
    SpacePost,
    SpaceSettings,
    space_settings_for,
)

MAX_POST_PHOTOS = 6
MAX_COMMENT_PHOTOS = 3
QR_BOUNDS = (1000, 1000)  # a WeChat group QR code stays scannable well below this


@dataclass(frozen=True)
class Actor:
    """Who writes: a joined member of the group (the member pages) or one of the shop's operators (the
    dashboard, whose view has checked the seat)."""

    user: object
    as_operator: bool = False


def active_membership(user, group: Group) -> Membership | None:
    return Membership.objects.filter(group=group, user=user, status=MembershipStatus.ACTIVE).first()


def _require_member(actor: Actor, group: Group) -> None:
    if actor.as_operator:
        return
    if active_membership(actor.user, group) is None:
        raise ValidationError(_("只有在群成员才能在群空间发言。"))


def _require_power(actor: Actor, group: Group, power: GroupPower) -> None:
    """PermissionDenied (403) unless groups.powers lets the actor use `power` here: the group's 群主 and
    群管理 in their own group, the shop's operators (the dashboard has checked the seat too)."""
    powers.check_power(actor.user, group, power)


def _clean_text(text: str, *, field: str, limit: int) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("请填写内容。")})
    if len(text) > limit:
        raise ValidationError({field: _("内容不能超过 %(n)d 个字。") % {"n": limit}})
    return text


def _clean_photos(photos, *, limit: int) -> list:
    photos = list(photos or ())
    if len(photos) > limit:
        raise ValidationError({"photos": _("最多上传 %(n)d 张照片。") % {"n": limit}})
    try:
        return [images.clean_image(photo, bounds=images.PHOTO) for photo in photos]
    except ValidationError as error:
        raise ValidationError({"photos": error.messages}) from None


def _audit(actor: Actor, group: Group, action: str, target, **changes) -> None:
    if actor.as_operator:
        audit.record(shop=group.shop_id, by=actor.user, action=action, target=target, label=group.name, **changes)


# --- Posts, comments, answers ------------------------------------------------------------------------


def create_post(*, group: Group, actor: Actor, kind: str, body: str, photos=()) -> SpacePost:
    """A post, question or announcement; an announcement needs the post_announcements power (or a seat)."""
    if kind not in PostKind.values:
        raise ValidationError({"kind": _("未知的帖子类型。")})
    _require_member(actor, group)
    if kind == PostKind.ANNOUNCEMENT:
        _require_power(actor, group, GroupPower.POST_ANNOUNCEMENTS)
    elif actor.as_operator:
        raise ValidationError({"kind": _("运营在后台只能发公告。")})
    body = _clean_text(body, field="body", limit=POST_MAX_LENGTH)
    photos = _clean_photos(photos, limit=MAX_POST_PHOTOS)
    with transaction.atomic():
        post = SpacePost.objects.create(group=group, author=actor.user, kind=kind, body=body)
        for position, photo in enumerate(photos):
            SpacePhoto.objects.create(post=post, image=photo, position=position)
        if not actor.as_operator:
            record_activity(group_id=group.pk, user_id=actor.user.pk, kind=ActivityKind.SPACE, ref=f"space:{post.pk}")
        _audit(actor, group, "group.space.announce", post, after={"kind": kind, "body": body})
    return post


def add_comment(*, post: SpacePost, actor: Actor, body: str, photos=()) -> SpaceComment:
    """A reply; on a question, the first by anyone but the asker becomes its first reply (exactly once)."""
    group = post.group
    _require_member(actor, group)
    if post.is_hidden:
        raise ValidationError(_("这条内容已被隐藏，不能回复。"))
    body = _clean_text(body, field="body", limit=COMMENT_MAX_LENGTH)
    photos = _clean_photos(photos, limit=MAX_COMMENT_PHOTOS)
    with transaction.atomic():
        comment = SpaceComment.objects.create(post=post, author=actor.user, body=body)
        for position, photo in enumerate(photos):
            SpacePhoto.objects.create(comment=comment, image=photo, position=position)
        if post.kind == PostKind.QUESTION and post.author_id != actor.user.pk:
            _claim_first_reply(post, comment)
        if not actor.as_operator:
            record_activity(group_id=group.pk, user_id=actor.user.pk, kind=ActivityKind.SPACE, ref=f"space:{post.pk}")
        _audit(actor, group, "group.space.reply", comment, after={"post": post.pk, "body": body})
    return comment


def _claim_first_reply(post: SpacePost, comment: SpaceComment) -> bool:
    """Make `comment` the question's first reply unless one is set. The row count decides: of two replies at
    once, the second waits for the first's row lock, then finds first_reply_at set and changes nothing."""
    claimed = SpacePost.objects.filter(pk=post.pk, first_reply_at__isnull=True).update(
        first_reply_at=comment.created_at, first_responder_id=comment.author_id
    )
    return claimed == 1


def mark_answered(*, post: SpacePost, actor: Actor) -> SpacePost:
    """已解决: by the asker, or by whoever has the answer_questions power (or a seat)."""
    if post.kind != PostKind.QUESTION:
        raise ValidationError(_("只有提问可以标记为已解决。"))
    if post.is_hidden:
        raise ValidationError(_("这条内容已被隐藏。"))
    if actor.as_operator or post.author_id != actor.user.pk:
        _require_power(actor, post.group, GroupPower.ANSWER_QUESTIONS)
    else:
        _require_member(actor, post.group)
    with transaction.atomic():
        now = timezone.now()
        if SpacePost.objects.filter(pk=post.pk, answered_at__isnull=True).update(
            answered_at=now, answered_by=actor.user
        ):
            post.answered_at, post.answered_by = now, actor.user
            _audit(
                actor,
                post.group,
                "group.space.answered",
                post,
                before={"answered_at": None},
                after={"answered_at": now},
            )
        else:
            post.refresh_from_db(fields=["answered_at", "answered_by"])
    return post


def hide_post(*, post: SpacePost, actor: Actor) -> SpacePost:
    """Hide a post from members (kept, with who and when); needs the hide_posts power (or a seat)."""
    _require_power(actor, post.group, GroupPower.HIDE_POSTS)
    with transaction.atomic():
        now = timezone.now()
        if post.set_hidden(True, by=actor.user, now=now):
            _audit(actor, post.group, "group.space.hide", post, before={"hidden_at": None}, after={"hidden_at": now})
    return post


def restore_post(*, post: SpacePost, actor: Actor) -> SpacePost:
    """Show a hidden post again; same power as hiding it."""
    _require_power(actor, post.group, GroupPower.HIDE_POSTS)
    with transaction.atomic():
        before = post.hidden_at
        if post.set_hidden(False):
            _audit(
                actor, post.group, "group.space.restore", post, before={"hidden_at": before}, after={"hidden_at": None}
            )
    return post


def hide_comment(*, comment: SpaceComment, actor: Actor) -> SpaceComment:
    """Hide one reply from members (kept, with who and when); the hide_posts power (or a seat). Audited
    whoever hides it: a 群主/群管理 hiding a member's words is an act the shop must be able to review."""
    group = comment.post.group
    _require_power(actor, group, GroupPower.HIDE_POSTS)
    with transaction.atomic():
        now = timezone.now()
        if comment.set_hidden(True, by=actor.user, now=now):
            audit.record(
                shop=group.shop_id,
                by=actor.user,
                action="group.space.comment.hide",
                target=comment,
                before={"hidden_at": None},
                after={"hidden_at": now},
                label=group.name,
            )
    return comment


def restore_comment(*, comment: SpaceComment, actor: Actor) -> SpaceComment:
    """Show a hidden reply again; same power as hiding it."""
    group = comment.post.group
    _require_power(actor, group, GroupPower.HIDE_POSTS)
    with transaction.atomic():
        before = comment.hidden_at
        if comment.set_hidden(False):
            audit.record(
                shop=group.shop_id,
                by=actor.user,
                action="group.space.comment.restore",
                target=comment,
                before={"hidden_at": before},
                after={"hidden_at": None},
                label=group.name,
            )
    return comment


# --- The WeChat group QR code and the service contact (operators) -------------------------------------


def set_contact(
    *,
    group: Group,
    by,
    service_contact: str,
    wechat_qr=None,
    wechat_qr_expires_at: datetime | None = None,
    remove_qr: bool = False,
    now: datetime | None = None,
) -> GroupContact:
    """Link (or replace, or remove) the group's WeChat group QR code and set its service contact.

    A new QR code needs an expiry in the future; the old file stays on disk only until the row changes.
    """
    now = now or timezone.now()
    service_contact = (service_contact or "").strip()
    if len(service_contact) > CONTACT_MAX_LENGTH:
        raise ValidationError({"service_contact": _("不能超过 %(n)d 个字。") % {"n": CONTACT_MAX_LENGTH}})
    contact = GroupContact.objects.filter(group=group).first() or GroupContact(group=group)
    has_qr = bool(contact.wechat_qr) and not remove_qr
    if wechat_qr is not None or has_qr:
        if wechat_qr_expires_at is None:
            raise ValidationError({"wechat_qr_expires_at": _("请填写二维码的到期时间（微信群二维码 7 天内有效）。")})
        if wechat_qr_expires_at <= now:
            raise ValidationError({"wechat_qr_expires_at": _("到期时间必须晚于现在。")})
    if wechat_qr is not None:
        try:
            wechat_qr = images.clean_image(wechat_qr, bounds=QR_BOUNDS)
        except ValidationError as error:
            raise ValidationError({"wechat_qr": error.messages}) from None
    fields = ("wechat_qr", "wechat_qr_expires_at", "service_contact")
    with transaction.atomic():
        before = audit.snapshot(contact, fields) if contact.pk else {}
        contact.service_contact = service_contact
        if wechat_qr is not None:
            contact.wechat_qr.save(wechat_qr.name, wechat_qr, save=False)
        elif remove_qr:
            contact.wechat_qr = ""
        contact.wechat_qr_expires_at = wechat_qr_expires_at if (wechat_qr is not None or has_qr) else None
        contact.updated_by = by
        contact.save()
        audit.record(
            shop=group.shop_id,
            by=by,
            action="group.space.contact",
            target=contact,
            before=before,
            after=audit.snapshot(contact, fields),
            label=group.name,
        )
    return contact


def update_space_settings(*, shop_id: int, by, reply_target_minutes: int, qr_reminder_days: int) -> SpaceSettings:
    current = space_settings_for(shop_id)
    fields = ("reply_target_minutes", "qr_reminder_days")
    before = audit.snapshot(current, fields)
    current.reply_target_minutes, current.qr_reminder_days = reply_target_minutes, qr_reminder_days
    current.full_clean(exclude=["shop"])
    with transaction.atomic():
        current.save()
        audit.record(
            shop=shop_id,
            by=by,
            action="group.space.settings",
            target=current,
            before=before,
            after=audit.snapshot(current, fields),
            label=str(_("群空间设置")),
        )
    return current


# --- The QR expiry reminder (a periodic job, groups/tasks.py) -----------------------------------------


def remind_expiring_wechat_qr(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Tell the shop's owners and operators that a group's WeChat QR code expires within the shop's
    reminder days: once per code, expiry and person (the notification key), in the inbox and their channels."""
    now, result = now or timezone.now(), result if result is not None else JobResult()
    horizon = now + timedelta(days=7)  # the longest reminder a shop may set
    contacts = list(
        GroupContact.objects.filter(wechat_qr_expires_at__gt=now, wechat_qr_expires_at__lte=horizon)
        .exclude(wechat_qr="")
        .select_related("group")
    )
    shop_ids = {c.group.shop_id for c in contacts}
    saved = {s.shop_id: s for s in SpaceSettings.objects.filter(shop_id__in=shop_ids)}
    staff: dict[int, list[int]] = {}
    for seat in Operator.objects.filter(
        shop_id__in=shop_ids, role__in=[OperatorRole.OWNER, OperatorRole.OPERATOR]
    ).order_by("pk"):
        staff.setdefault(seat.shop_id, []).append(seat.user_id)
    sent = 0
    for contact in contacts:
        shop_id = contact.group.shop_id
        days = (saved.get(shop_id) or SpaceSettings(shop_id=shop_id)).qr_reminder_days
        if contact.wechat_qr_expires_at > now + timedelta(days=days):
            continue
        expires = timezone.localtime(contact.wechat_qr_expires_at)
        for user_id in staff.get(shop_id, []):
            with transaction.atomic():
                written = notify(
                    shop=shop_id,
                    user=user_id,
                    category=Category.TRANSACTIONAL,
                    kind="space_qr_expiring",
                    key=f"space-qr-expiry:{contact.pk}:{contact.wechat_qr_expires_at.isoformat()}:{user_id}",
                    title=_("微信群二维码即将到期"),
                    body=_("「%(group)s」的微信群二维码将于 %(at)s 到期，请上传新的二维码。")
                    % {"group": contact.group.name, "at": expires.strftime("%Y-%m-%d %H:%M")},
                    url=reverse("dashboard:group_space", args=[contact.group_id]),
                )
            if written is not None:
                sent += 1
                result.count(shop_id)
    return sent
