"""The group space (群空间): announcements, members' posts with photos and comments, questions and their
first-reply times, and the group's WeChat group QR code and service contact.

Imported by groups/models.py so Django finds the models; the rules live in groups/space.py.

Invariants the database holds:
- a question's first reply is set once (a conditional UPDATE on `first_reply_at IS NULL` decides which
  reply was first), never by the asker, and only on questions;
- a photo belongs to exactly one post or one comment;
- a group has at most one WeChat group code row.
"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from groups.hideable import Hideable
from shops.models import Shop

POST_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 1000
CONTACT_MAX_LENGTH = 100


class PrivateMediaStorage(FileSystemStorage):
    """Files only joined members may see: in MEDIA_ROOT's `private/` folder, which /media/ refuses to serve
    (shequn.views.media); groups/space_views.py serves each one after checking who asks."""

    @cached_property
    def base_location(self):
        # Re-read when MEDIA_ROOT changes (FileSystemStorage forgets this property on setting_changed).
        return str(Path(settings.MEDIA_ROOT) / "private")


def private_storage() -> "PrivateMediaStorage":
    return _PRIVATE


_PRIVATE = PrivateMediaStorage(base_url="/private/")


class PostKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", _("公告")
    POST = "post", _("动态")
    QUESTION = "question", _("提问")


class SpaceSettings(models.Model):
    """A shop's numbers for its group spaces (defaults until an owner changes them; `space_settings_for`)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="space_settings")
    reply_target_minutes = models.PositiveIntegerField(
        _("首次回复目标（分钟）"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("群内提问应在这么多分钟内得到第一次回复。"),
    )
    qr_reminder_days = models.PositiveIntegerField(
        _("群二维码到期提醒（提前天数）"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("微信群二维码到期前这么多天提醒运营更换。"),
    )

    class Meta:
        verbose_name = _("群空间设置")
        verbose_name_plural = _("群空间设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(reply_target_minutes__gte=1, reply_target_minutes__lte=24 * 60)
                & Q(qr_reminder_days__gte=1, qr_reminder_days__lte=7),
                name="space_settings_in_range",
            )
        ]

    def __str__(self) -> str:
        return str(self.shop)


def space_settings_for(shop_id: int) -> SpaceSettings:
    return SpaceSettings.objects.filter(shop_id=shop_id).first() or SpaceSettings(shop_id=shop_id)


class SpacePost(Hideable):
    """An announcement, a post or a question in a group's space. Hidden posts are kept, shown to no member."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="space_posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="space_posts", verbose_name=_("作者")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=PostKind.choices, default=PostKind.POST)
    body = models.TextField(_("内容"), max_length=POST_MAX_LENGTH)
    created_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    # Questions only: the first reply by someone other than the asker, set once.
    first_reply_at = models.DateTimeField(_("首次回复时间"), null=True, blank=True)
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("首次回复人"),
    )
    answered_at = models.DateTimeField(_("标记已解决时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("标记人"),
    )

    class Meta:
        verbose_name = _("群空间帖子")
        verbose_name_plural = _("群空间帖子")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["group", "kind", "created_at"], name="space_post_group_kind_idx"),
            models.Index(fields=["group", "created_at"], name="space_post_group_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="question") | Q(first_reply_at__isnull=True, answered_at__isnull=True),
                name="space_only_questions_are_answered",
            ),
            models.CheckConstraint(
                condition=Q(first_reply_at__isnull=True) | Q(first_reply_at__gte=models.F("created_at")),
                name="space_first_reply_after_question",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def first_reply_seconds(self) -> int | None:
        if self.first_reply_at is None:
            return None
        return int((self.first_reply_at - self.created_at).total_seconds())


class SpaceComment(Hideable):
    """A reply to a post; on a question, the first one by someone other than the asker is its first reply."""

    post = models.ForeignKey(SpacePost, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="space_comments", verbose_name=_("作者")
    )
    body = models.TextField(_("内容"), max_length=COMMENT_MAX_LENGTH)
    created_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    # Hideable: a hidden reply is kept (with who hid it) and shown to no member; a question's first-reply
    # time stays what it was: the reply was given, even if it is hidden later.

    class Meta:
        verbose_name = _("群空间评论")
        verbose_name_plural = _("群空间评论")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["post", "created_at"], name="space_comment_post_at_idx")]

    def __str__(self) -> str:
        return f"#{self.post_id}/{self.pk}"


class SpacePhoto(models.Model):
    """A photo of a post or a comment, stored through shequn.images (re-encoded, no metadata, random name)."""

    post = models.ForeignKey(SpacePost, on_delete=models.CASCADE, null=True, blank=True, related_name="photos")
    comment = models.ForeignKey(SpaceComment, on_delete=models.CASCADE, null=True, blank=True, related_name="photos")
    image = models.FileField(_("照片"), upload_to="space/%Y/%m/", storage=private_storage)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("群空间照片")
        verbose_name_plural = _("群空间照片")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(post__isnull=False) & Q(comment__isnull=True))
                | (Q(post__isnull=True) & Q(comment__isnull=False)),
                name="space_photo_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.image.name


class GroupContact(models.Model):
    """The group's WeChat group QR code (with its expiry) and service contact, shown to joined members only."""

    group = models.OneToOneField("groups.Group", on_delete=models.CASCADE, related_name="contact")
    wechat_qr = models.FileField(_("微信群二维码"), upload_to="wechat-qr/%Y/%m/", storage=private_storage, blank=True)
    wechat_qr_expires_at = models.DateTimeField(_("二维码到期时间"), null=True, blank=True)
    service_contact = models.CharField(
        _("客服联系方式"),
        max_length=CONTACT_MAX_LENGTH,
        blank=True,
        help_text=_("如 客服微信号、电话"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更新人"),
    )

    class Meta:
        verbose_name = _("群二维码与客服")
        verbose_name_plural = _("群二维码与客服")
        constraints = [
            models.CheckConstraint(
                condition=Q(wechat_qr="") | Q(wechat_qr_expires_at__isnull=False),
                name="group_contact_qr_has_expiry",
                violation_error_message=_("请填写二维码的到期时间。"),
            )
        ]

    def __str__(self) -> str:
        return str(self.group_id)

    def qr_shown(self, now=None) -> bool:
        """A QR code members can still scan: uploaded and not past its expiry."""
        now = now or timezone.now()
        return bool(self.wechat_qr) and self.wechat_qr_expires_at is not None and self.wechat_qr_expires_at > now
