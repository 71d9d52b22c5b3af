"""Notifications: an outbox written in the caller's transaction, delivered afterwards by workers.

- `Notification` is the outbox row: unique `key` (one notification per event, however often the event
  is retried), a category that decides which rules apply, and a state that says what became of it.
- `Delivery` is one channel's attempt to reach the member (inbox, e-mail, SMS, WeChat), unique per
  notification and channel, with its own retries; a delivery that keeps failing ends FAILED, visibly.
- `Preference` is a member's choice per shop: which commercial categories they receive, quiet hours.
- `NotificationSettings` holds the shop's frequency cap and default quiet hours.
"""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop


class Category(models.TextChoices):
    TRANSACTIONAL = "transactional", _("交易通知")
    MARKETING = "marketing", _("优惠推广")
    REMINDER = "reminder", _("回购提醒")
    CAMPAIGN = "campaign", _("活动消息")


# Commercial messages: opt-out-able, frequency-capped, held back in quiet hours and during after-sales.
COMMERCIAL = (Category.MARKETING, Category.REMINDER, Category.CAMPAIGN)


class NotificationState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    CAPPED = "capped", _("超出频次未发")
    SUPPRESSED = "suppressed", _("按规则未发")


class HoldReason(models.TextChoices):
    """Why a notification was not sent (yet)."""

    QUIET_HOURS = "quiet_hours", _("免打扰时段，延后发送")
    CAPPED = "capped", _("已达发送频次上限")
    OPTED_OUT = "opted_out", _("会员已退订此类消息")
    AFTER_SALES = "after_sales", _("会员有未完结的售后")


# What each kind of message is, in words (the kinds are written where the messages are: order hooks,
# groups.jobs, orders.reminders). A kind missing here shows its category only, never its code.
KIND_LABELS = {
    "order_paid": _("付款成功通知"),
    "order_shipped": _("发货通知"),
    "order_refunded": _("退款通知"),
    "repurchase": _("复购提醒"),
    "lurker_follow_up": _("沉默成员关怀"),
    "broadcast": _("群发"),
    "group_invitation": _("人群入群邀请"),
}


class Notification(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("会员")
    )
    category = models.CharField(_("类别"), max_length=16, choices=Category.choices)
    kind = models.CharField(_("类型"), max_length=40)
    key = models.CharField(_("唯一键"), max_length=200, unique=True)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("内容"), max_length=1000, blank=True)
    url = models.CharField(_("链接"), max_length=500, blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    reason = models.CharField(_("原因"), max_length=16, choices=HoldReason.choices, blank=True)
    # Not before this moment: now for most, the end of the member's quiet hours for held-back ones.
    deliver_after = models.DateTimeField(_("最早发送时间"), default=timezone.now)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            # The release job's queue.
            models.Index(fields=["deliver_after"], name="notification_pending_due", condition=Q(state="pending")),
            # The frequency cap: commercial messages sent to a member by a shop, by time.
            models.Index(
                fields=["user", "shop", "sent_at"], name="notification_sent_per_member", condition=Q(state="sent")
            ),
            models.Index(fields=["user", "-sent_at"], name="notification_inbox", condition=Q(state="sent")),
            models.Index(fields=["user"], name="notification_unread", condition=Q(state="sent", read_at__isnull=True)),
            models.Index(fields=["shop", "created_at"], name="notification_shop_list"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="notification_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, ""))

    @property
    def is_commercial(self) -> bool:
        return self.category in COMMERCIAL


class Channel(models.TextChoices):
    INBOX = "inbox", _("站内信")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信消息")


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已送达")
    FAILED = "failed", _("发送失败")


class Delivery(models.Model):
    """One channel of one notification. Unique per (notification, channel): sent at most once each."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("状态"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    deliver_after = models.DateTimeField(_("下次尝试"), default=timezone.now)
    # A worker that claimed the delivery owns it until then; after that (it crashed) another may retry.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        indexes = [
            models.Index(fields=["deliver_after"], name="delivery_queued_due", condition=Q(state="queued")),
            models.Index(fields=["lease_until"], name="delivery_sending_lease", condition=Q(state="sending")),
            models.Index(fields=["state", "created_at"], name="delivery_state"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.notification_id}"

    @property
    def key(self) -> str:
        """The delivery's idempotency key, handed to providers that can deduplicate on it."""
        return f"n{self.notification_id}:{self.channel}"


class Preference(models.Model):
    """A member's choices for one shop. Transactional messages cannot be turned off."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="notification_preferences")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    marketing = models.BooleanField(_("接收优惠推广"), default=True)
    reminder = models.BooleanField(_("接收回购提醒"), default=True)
    campaign = models.BooleanField(_("接收活动消息"), default=True)
    # Empty: the shop's default quiet hours. Start equal to end: no quiet hours.
    quiet_start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    quiet_end = models.TimeField(_("免打扰结束"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("消息偏好")
        verbose_name_plural = _("消息偏好")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="preference_once_per_member_shop"),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="preference_quiet_hours_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop}"

    def receives(self, category: str) -> bool:
        if category == Category.TRANSACTIONAL:
            return True
        return bool(getattr(self, category))


class WechatFallback(models.TextChoices):
    SMS = "sms", _("改发短信（仅交易通知）")
    INBOX = "inbox", _("只留在站内信")


class NotificationSettings(models.Model):
    """A shop's rules for commercial messages: opt-outs, quiet hours and a frequency cap, so marketing never
    arrives every day; the defaults apply when there is no row."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="notification_settings")
    daily_cap = models.PositiveSmallIntegerField(
        _("每日上限"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("任意 24 小时内，每位会员最多收到的推广、提醒和活动消息数。"),
    )
    weekly_cap = models.PositiveSmallIntegerField(
        _("每周上限"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("任意 7 天内，每位会员最多收到的推广、提醒和活动消息数。"),
    )
    quiet_start = models.TimeField(_("免打扰开始"), default=time(21, 0))
    quiet_end = models.TimeField(
        _("免打扰结束"), default=time(9, 0), help_text=_("这段时间内不发推广和提醒，到点后再发；交易通知不受影响。")
    )
    wechat_fallback = models.CharField(
        _("微信消息发送失败时"),
        max_length=8,
        choices=WechatFallback.choices,
        default=WechatFallback.SMS,
        help_text=_("会员能收到微信消息时先发微信；微信发送失败后，按此设置补发短信或只留在站内信。"),
    )

    class Meta:
        verbose_name = _("消息设置")
        verbose_name_plural = _("消息设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_cap__gte=1) & Q(weekly_cap__gte=F("daily_cap")),
                name="notification_caps_consistent",
                violation_error_message=_("每周上限不能小于每日上限。"),
            ),
        ]

    def __str__(self) -> str:
        return str(self.shop)


# --- WeChat mini-program subscribe messages (notifications.wechat) -------------------------------


class MiniProgramRecipient(models.Model):
    """A member's openid in the shop's mini-program (from wx.login's code), for subscribe messages."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mini_program")
    openid = models.CharField(max_length=64, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("小程序用户")
        verbose_name_plural = _("小程序用户")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.openid}"


class SubscriptionGrant(models.Model):
    """How many subscribe messages of a template the member accepted and we have not used yet (WeChat
    allows one message per acceptance)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription_grants")
    template_id = models.CharField(max_length=64)
    remaining = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("订阅消息授权")
        verbose_name_plural = _("订阅消息授权")
        constraints = [
            models.UniqueConstraint(fields=["user", "template_id"], name="subscription_grant_once_per_template"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="subscription_grant_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.template_id}×{self.remaining}"
