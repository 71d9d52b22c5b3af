from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequn.bounds import (
    MAX_COUPON_NOTICE_HOURS,
    MAX_GROUP_SIZE,
    MAX_JOIN_WINDOW_HOURS,
    MAX_MINUTES,
    MAX_NEAR_FLOOR_PERCENT,
)


class Shop(models.Model):
    """The brand or store: the tenant that owns groups and everything after them."""

    name = models.CharField(_("名称"), max_length=80)
    slug = models.SlugField(_("标识"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("店铺")
        verbose_name_plural = _("店铺")

    def __str__(self) -> str:
        return self.name


class ShopSettings(models.Model):
    """The operator-tunable limits and defaults of one shop; the field defaults are what a new shop starts with."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="settings")
    group_hard_cap = models.PositiveIntegerField(
        _("群人数上限"),
        default=350,
        validators=[MinValueValidator(2), MaxValueValidator(MAX_GROUP_SIZE)],
        help_text=_("任何群的容量都不能超过此值。"),
    )
    default_group_capacity = models.PositiveIntegerField(
        _("默认群容量"), default=200, validators=[MinValueValidator(2), MaxValueValidator(MAX_GROUP_SIZE)]
    )
    default_rotation_threshold = models.PositiveIntegerField(
        _("默认轮换阈值"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GROUP_SIZE)],
        help_text=_("群活码：新成员进入第一个低于此人数的群。"),
    )

    payment_timeout_minutes = models.PositiveIntegerField(
        _("付款时限（分钟）"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MINUTES)],
        help_text=_("下单后未在此时间内付款的订单自动取消，库存退回。"),
    )
    sms_sign_name = models.CharField(
        _("短信签名"),
        max_length=20,
        blank=True,
        help_text=_("在短信服务商处审核通过的签名，例如“好物社”；留空则用平台签名。"),
    )
    bargain_pay_within_minutes = models.PositiveIntegerField(
        _("砍价到底后付款期限（分钟）"),
        default=24 * 60,
        validators=[MinValueValidator(5), MaxValueValidator(MAX_MINUTES)],
        help_text=_("砍价砍到底价后须在此时间内下单付款，否则失效；单个活动可另设。"),
    )
    campaign_join_window_hours = models.PositiveIntegerField(
        _("活动带来入群的归因时限（小时）"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_JOIN_WINDOW_HOURS)],
        help_text=_("登录后打开活动分享页、在此时间内首次入群的，算作该活动带来的入群。"),
    )
    bargain_near_floor_percent = models.PositiveSmallIntegerField(
        _("砍价接近底价提醒（百分比）"),
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_NEAR_FLOOR_PERCENT)],
        help_text=_("只剩一刀，或剩下可砍的不超过全程的此百分比时，告诉发起人一次；0 表示只在只剩一刀时。"),
    )
    coupon_expiry_notice_hours = models.PositiveIntegerField(
        _("优惠券到期提醒提前（小时）"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_COUPON_NOTICE_HOURS)],
        help_text=_("可用的优惠券在到期前此时间内提醒领券人一次；领取不到此时长的券不提醒。"),
    )

    class Meta:
        verbose_name = _("店铺设置")
        verbose_name_plural = _("店铺设置")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_group_capacity__lte=models.F("group_hard_cap")),
                name="shop_default_capacity_within_hard_cap",
                violation_error_message=_("默认群容量不能超过群人数上限。"),
            ),
            models.CheckConstraint(
                condition=models.Q(default_rotation_threshold__lte=models.F("group_hard_cap")),
                name="shop_default_rotation_within_hard_cap",
                violation_error_message=_("默认轮换阈值不能超过群人数上限。"),
            ),
            models.CheckConstraint(
                condition=models.Q(
                    group_hard_cap__gte=2,
                    group_hard_cap__lte=MAX_GROUP_SIZE,
                    default_group_capacity__gte=2,
                    default_rotation_threshold__gte=1,
                    payment_timeout_minutes__gte=1,
                    payment_timeout_minutes__lte=MAX_MINUTES,
                    bargain_pay_within_minutes__gte=5,
                    bargain_pay_within_minutes__lte=MAX_MINUTES,
                ),
                name="shop_settings_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    campaign_join_window_hours__gte=1, campaign_join_window_hours__lte=MAX_JOIN_WINDOW_HOURS
                ),
                name="shop_campaign_join_window_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    bargain_near_floor_percent__lte=MAX_NEAR_FLOOR_PERCENT,
                    coupon_expiry_notice_hours__gte=1,
                    coupon_expiry_notice_hours__lte=MAX_COUPON_NOTICE_HOURS,
                ),
                name="shop_campaign_messages_in_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.shop)


class OperatorRole(models.TextChoices):
    OWNER = "owner", _("店主")
    OPERATOR = "operator", _("运营")
    VIEWER = "viewer", _("只读")


# What each role may do; checked by shops.tenancy.
ROLE_RANK = {OperatorRole.VIEWER: 0, OperatorRole.OPERATOR: 1, OperatorRole.OWNER: 2}


class Operator(models.Model):
    """A user's seat on a shop's staff."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="operators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator_seats")
    role = models.CharField(_("角色"), max_length=16, choices=OperatorRole.choices, default=OperatorRole.OPERATOR)
    created_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("运营人员")
        verbose_name_plural = _("运营人员")
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="operator_once_per_shop")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop} ({self.get_role_display()})"

    def can(self, role: str) -> bool:
        """True if this seat's role is at least `role`."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class AuditEntry(models.Model):
    """One operator write: who changed what in which shop, and the changed fields before and after.

    Written by `shops.audit.record` in the same transaction as the change, so a change that rolls back
    leaves no entry and a committed change always has one. Append-only: nothing updates or deletes it.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="audit_entries")
    # The user who acted; kept by name too, so the entry still says who after the account is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=48)
    target_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", verbose_name=_("对象类型")
    )
    target_id = models.PositiveBigIntegerField(_("对象编号"))
    target_label = models.CharField(_("对象"), max_length=200, blank=True)
    before = models.JSONField(_("修改前"), default=dict, blank=True)
    after = models.JSONField(_("修改后"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("操作记录")
        verbose_name_plural = _("操作记录")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "-at", "-id"], name="audit_shop_at"),
            models.Index(fields=["shop", "actor", "-at"], name="audit_shop_actor_at"),
            models.Index(fields=["shop", "target_type", "-at"], name="audit_shop_type_at"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_label}"
