"""券 coupons: the coupons members hold. A template is a campaign of type "coupon" (its settings hold the
terms); each claimed or granted coupon is one `Coupon` row, its terms copied from the template when it was
issued (a later edit of the template never changes a coupon someone holds).

The database holds the rules: a member's claims of one template are numbered 1…limit and each number is
unique (per template, and per template and day), so no member claims past the limits however many taps
race; a rule's grant is unique per key (given once); a used coupon names its order and an order uses one
coupon. The template's supply is the campaign's stock cap, taken by one conditional UPDATE.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign

__all__ = ["CouponState", "CouponChannel", "Coupon"]


class CouponState(models.TextChoices):
    AVAILABLE = "available", _("可使用")
    USED = "used", _("已使用")
    EXPIRED = "expired", _("已过期")
    VOID = "void", _("已作废")


class CouponChannel(models.TextChoices):
    CENTRE = "centre", _("领券中心")
    LINK = "link", _("链接/海报")
    RULE = "rule", _("规则发放")


class Coupon(models.Model):
    """One member's coupon (优惠券) of one template (a coupon campaign).

    available → used (an order took it: `order` set) → available again when that order is cancelled or fully
    refunded while the coupon is still valid and the template gives coupons back; available → expired at
    `valid_until`; available → void when the member is confirmed as fraud.
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("券模板"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("持有人")
    )
    state = models.CharField(_("状态"), max_length=10, choices=CouponState.choices, default=CouponState.AVAILABLE)
    channel = models.CharField(_("领取方式"), max_length=8, choices=CouponChannel.choices)
    reason = models.CharField(_("发放原因"), max_length=120, blank=True)
    # A rule's grant: one coupon per key and template (the rule's act, e.g. "referral-reward:12:inviter").
    grant_key = models.CharField(_("发放键"), max_length=80, blank=True, default="")
    # The campaign whose rule gave it (a check-in milestone, a contest prize, the share link that brought the
    # referral of an invite-both-get coupon), when not the template itself:
    # campaign ROI counts the coupon's discount as that campaign's cost, not the template's.
    issuer_campaign_id = models.PositiveBigIntegerField(_("发放活动"), null=True, blank=True)
    # A member's own claims: the n-th claim of this template, and the n-th of the day (None for grants).
    claim_number = models.PositiveIntegerField(_("第几次领取"), null=True, blank=True)
    claim_day = models.DateField(_("领取日"), null=True, blank=True)
    day_number = models.PositiveIntegerField(_("当日第几次领取"), null=True, blank=True)
    terms = models.JSONField(_("券面"), default=dict)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("失效时间"))
    claimed_at = models.DateTimeField(_("领取时间"), default=timezone.now)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("使用订单"),
    )
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    returned_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("优惠券")
        verbose_name_plural = _("优惠券")
        ordering = ["valid_until", "pk"]
        indexes = [
            models.Index(fields=["member", "shop", "state", "valid_until"], name="coupon_member_state_idx"),
            models.Index(fields=["state", "valid_until"], name="coupon_expiry_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "claim_number"],
                name="coupon_claim_number_once",
                violation_error_message=_("已达到每人领取上限。"),
            ),
            models.UniqueConstraint(
                fields=["campaign", "member", "claim_day", "day_number"],
                name="coupon_day_number_once",
                violation_error_message=_("已达到每日领取上限。"),
            ),
            models.UniqueConstraint(
                fields=["campaign", "grant_key"], condition=~Q(grant_key=""), name="coupon_grant_once_per_key"
            ),
            models.UniqueConstraint(fields=["order"], condition=Q(state="used"), name="coupon_one_per_order"),
            models.CheckConstraint(
                condition=Q(state="used", order__isnull=False, used_at__isnull=False) | ~Q(state="used"),
                name="coupon_used_names_order",
            ),
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("valid_from")), name="coupon_valid_window"),
            models.CheckConstraint(
                condition=~Q(grant_key="") | Q(claim_number__gte=1, claim_day__isnull=False),
                name="coupon_claimed_or_granted",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign_id} → {self.member_id} ({self.state})"

    def is_usable_at(self, now) -> bool:
        return self.state == CouponState.AVAILABLE and self.valid_from <= now < self.valid_until
