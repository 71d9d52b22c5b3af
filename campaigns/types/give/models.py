"""送 赠送: gifts, each with an unguessable link a friend claims once.

The database holds the rules: a gift is claimed at most once (only one conditional UPDATE moves it out of
`open`, and a claimed gift names its recipient and time, CHECK); nobody claims their own open gift (the
service refuses, and a CHECK keeps a claimed gift's recipient other than the giver unless it came back to
the giver); one paid order makes at most one gift (unique); a friend takes at most one free treat per
campaign (partial unique index).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign

__all__ = ["GiftMode", "GiftState", "Gift"]


class GiftMode(models.TextChoices):
    GIFT = "gift", _("买一送一")  # the giver paid for it; the friend claims it
    TREAT = "treat", _("请好友喝一杯")  # both get it free when the friend claims


class GiftState(models.TextChoices):
    OPEN = "open", _("待领取")
    CLAIMED = "claimed", _("已领取")
    REFUNDED = "refunded", _("已退款")  # expired unclaimed (or its order refunded): the giver got the money back
    RETURNED = "returned", _("已退回")  # expired unclaimed: the giver may claim it themself
    EXPIRED = "expired", _("已过期")  # a treat nobody took in time (nothing was paid)


class Gift(models.Model):
    """One gift (礼物) of a 送 campaign: a paid gift (its order is the giver's) or a treat (请客); `token` makes its
    link; `expires_at` ends the time to claim it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="gifts")
    mode = models.CharField(_("方式"), max_length=10, choices=GiftMode.choices)
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gifts_given", verbose_name=_("送礼人")
    )
    group = models.ForeignKey("groups.Group", on_delete=models.PROTECT, related_name="+", verbose_name=_("所在群"))
    token = models.CharField(_("链接码"), max_length=32, unique=True)
    message = models.CharField(_("祝福语"), max_length=60, blank=True)
    # A paid gift: the giver's order (paid; its unit is the one the friend gets, so no second order is placed).
    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="gift", verbose_name=_("送礼订单")
    )
    # A treat: where the giver's own free item goes (a DeliveryRequest's fields), given when the treat starts.
    giver_delivery = models.JSONField(_("送礼人收货信息"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=GiftState.choices, default=GiftState.OPEN)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("领取截止"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gifts_received",
        verbose_name=_("领取人"),
    )
    claimed_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("过期处理时间"), null=True, blank=True)
    # A treat's two zero-price orders, placed when the friend claims.
    recipient_order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("好友订单")
    )
    giver_order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("请客人订单")
    )

    class Meta:
        verbose_name = _("礼物")
        verbose_name_plural = _("礼物")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["giver", "created_at"]),
            models.Index(fields=["recipient", "claimed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(state="claimed") & Q(recipient__isnull=False) & Q(claimed_at__isnull=False))
                | (~Q(state="claimed") & Q(recipient__isnull=True) & Q(claimed_at__isnull=True)),
                name="gift_claimed_names_recipient",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=True) | ~Q(recipient=F("giver")) | Q(closed_at__isnull=False),
                name="gift_not_to_oneself",
            ),
            models.CheckConstraint(condition=Q(mode="treat") | Q(order__isnull=False), name="gift_paid_gift_has_order"),
            models.UniqueConstraint(
                fields=["campaign", "recipient"], condition=Q(mode="treat"), name="gift_one_treat_per_friend"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign_id} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:gift", args=[self.token])

    def is_open_at(self, now) -> bool:
        return self.state == GiftState.OPEN and self.expires_at > now

    def involves(self, user) -> bool:
        return user is not None and user.is_authenticated and user.pk in (self.giver_id, self.recipient_id)
