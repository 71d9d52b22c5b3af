"""Fraud review models (风控审核): a shop's thresholds, the flags the detection job raises, and the
self-referral attempts the recording code refuses. Imported by `referrals.models`.

A flag is unique per (shop, kind, subject, period), so the periodic detection job can run any number
of times: it inserts a flag once and only adds newly found events to a flag still open.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop


class DefaultDecision(models.TextChoices):
    HOLD = "hold", _("扣留（视同确认：作废相关事件，扣留未发放奖励）")
    RELEASE = "release", _("放行（视同排除）")


class FraudSettings(models.Model):
    """A shop's fraud thresholds. The default daily limit is 20 because a personal WeChat account can add
    about 20 friends a day: more joins brought by one member in a day than that are not one person inviting."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="fraud_settings")
    burst_limit_per_day = models.PositiveIntegerField(
        _("每人每日邀请上限"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("一位成员一天内带来的入群人数超过此值即标记。"),
    )
    young_account_minutes = models.PositiveIntegerField(
        _("新账号时限（分钟）"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(100000)],
        help_text=_("注册不满这些分钟的账号参与活动即标记。"),
    )
    shared_window_minutes = models.PositiveIntegerField(
        _("同设备/同 IP 时间窗口（分钟）"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(10080)],
    )
    shared_device_limit = models.PositiveIntegerField(
        _("同设备账号数"),
        default=3,
        validators=[MinValueValidator(2), MaxValueValidator(1000)],
        help_text=_("时间窗口内同一设备出现这么多不同的被邀请人即标记。"),
    )
    shared_ip_limit = models.PositiveIntegerField(
        _("同 IP 账号数"),
        default=10,
        validators=[MinValueValidator(2), MaxValueValidator(10000)],
        help_text=_("时间窗口内同一 IP 出现这么多不同的被邀请人即标记。"),
    )
    dormant_after_days = models.PositiveIntegerField(
        _("沉默判定（天）"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("入群这么多天后仍没有任何下单或活动行为，算沉默被邀请人。"),
    )
    dormant_min_invitees = models.PositiveIntegerField(
        _("沉默被邀请人数"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("一位成员一周内带来的沉默被邀请人达到此数即标记。"),
    )
    decision_hours = models.PositiveIntegerField(
        _("审核期限（小时）"),
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("标记在此期限内无人处理，将按默认处理方式自动处理。"),
    )
    default_decision = models.CharField(
        _("逾期默认处理"), max_length=8, choices=DefaultDecision.choices, default=DefaultDecision.HOLD
    )

    class Meta:
        verbose_name = _("风控设置")
        verbose_name_plural = _("风控设置")

    def __str__(self) -> str:
        return str(self.shop)


class FlagKind(models.TextChoices):
    SELF_REFERRAL = "self_referral", _("自我邀请")
    RING = "ring", _("互刷环")
    SHARED_DEVICE = "shared_device", _("同设备多账号")
    SHARED_IP = "shared_ip", _("同 IP 多账号")
    DORMANT = "dormant", _("沉默被邀请人")
    BURST = "burst", _("邀请过快")
    YOUNG_ACCOUNT = "young_account", _("新账号参与活动")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("待审核")
    CONFIRMED = "confirmed", _("已确认（已作废）")
    CLEARED = "cleared", _("已排除")


class FraudFlag(models.Model):
    """One suspicion (风控标记) for people to review: confirm voids its events, clear dismisses it.

    `subject` names what is suspected ("user:12", "device:…", "ip:…", "ring:3-8-12", "pair:3-8");
    `period` the day or week it covers ("" when timeless); `evidence` the numbers the explanation
    is written from. An unreviewed flag follows the shop's default decision after `deadline`.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="fraud_flags")
    kind = models.CharField(_("类型"), max_length=16, choices=FlagKind.choices)
    subject = models.CharField(_("对象"), max_length=120)
    period = models.CharField(_("时段"), max_length=16, blank=True)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fraud_flags",
        verbose_name=_("涉及成员"),
    )
    evidence = models.JSONField(_("证据"), default=dict)
    events = models.ManyToManyField(
        "referrals.ReferralEvent", blank=True, related_name="fraud_flags", verbose_name=_("相关事件")
    )
    status = models.CharField(_("状态"), max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    created_at = models.DateTimeField(_("标记时间"), default=timezone.now)
    deadline = models.DateTimeField(_("审核期限"))
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    decision_reason = models.CharField(_("处理说明"), max_length=200, blank=True)
    auto_decided = models.BooleanField(_("逾期自动处理"), default=False)
    voided_count = models.PositiveIntegerField(_("作废事件数"), default=0)

    class Meta:
        verbose_name = _("风控标记")
        verbose_name_plural = _("风控标记")
        ordering = ["deadline", "pk"]
        indexes = [
            models.Index(fields=["shop", "status", "deadline"], name="fraud_flag_queue_idx"),
            models.Index(fields=["status", "deadline"], name="fraud_flag_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind", "subject", "period"], name="one_fraud_flag_per_subject"),
            models.CheckConstraint(
                condition=models.Q(status="open") | models.Q(decided_at__isnull=False),
                name="fraud_flag_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject} {self.period}".strip()


class SelfReferralAttempt(models.Model):
    """Someone used their own invite link on themself (自我邀请尝试): refused, and kept for review."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="self_referral_attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("成员")
    )
    link = models.ForeignKey(
        "groups.InviteLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("邀请链接"),
    )
    action = models.CharField(_("行为"), max_length=16)  # "open", "join", "act"
    ip_address = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    device_id = models.CharField(_("设备"), max_length=64, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("自我邀请尝试")
        verbose_name_plural = _("自我邀请尝试")
        indexes = [models.Index(fields=["shop", "at"], name="self_referral_attempt_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.shop_id} {self.action}"
