"""The fulfilment queue's rows (交付队列): every item the shop owes a member and hands over by hand or by
courier — a gift, a campaign's free item, a contest's physical prize — whatever placed it.

The order core owns the queue and knows no plug-in: a plug-in adds an item (orders.fulfilment.owe_item) under
a natural key of its own, so adding it twice adds it once; an item may carry the order it comes from, or
none (a prize with no order). The database holds the rules: one item per key; an item handed over names
when and who; a pickup item names its pickup point, a shipped one its address.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop

__all__ = ["FulfilmentState", "FulfilmentItem"]


class FulfilmentState(models.TextChoices):
    OWED = "owed", _("待交付")
    HANDED_OVER = "handed_over", _("已交付")
    VOID = "void", _("已作废")


class FulfilmentItem(models.Model):
    """One item owed to a member (待交付物品): what, how many, where it goes, and whether it was handed over."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="fulfilment_items")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owed_items", verbose_name=_("领取人")
    )
    # Who owes it, in the plug-in's words ("campaign:12"), and the plug-in's natural key of the act that owes
    # it ("gift:34"): adding the same key again finds the item made the first time.
    source = models.CharField(_("来源"), max_length=40)
    key = models.CharField(_("唯一键"), max_length=80, unique=True)
    # The campaign that owes it (read from a "campaign:<id>" source), and what the shop pays for it when it
    # comes with no order (a prize bought in): campaign ROI counts it as the campaign's cost.
    campaign_id = models.PositiveBigIntegerField(_("活动"), null=True, blank=True)
    worth = models.DecimalField(
        _("价值"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    label = models.CharField(_("物品"), max_length=120)
    quantity = models.PositiveIntegerField(_("数量"), default=1)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owed_items",
        verbose_name=_("订单"),
    )
    delivery = models.CharField(_("交付方式"), max_length=10)
    pickup_point = models.ForeignKey(
        "orders.PickupPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("自提点"),
    )
    recipient_name = models.CharField(_("收货人"), max_length=30, blank=True)
    recipient_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("收货地址"), max_length=200, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=FulfilmentState.choices, default=FulfilmentState.OWED)
    owed_at = models.DateTimeField(_("应交付时间"), default=timezone.now)
    handed_over_at = models.DateTimeField(_("交付时间"), null=True, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("交付人"),
    )
    tracking_number = models.CharField(_("运单号"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("待交付物品")
        verbose_name_plural = _("交付队列")
        ordering = ["owed_at", "pk"]
        indexes = [
            models.Index(fields=["shop", "state", "owed_at"], name="fulfilment_queue_idx"),
            models.Index(fields=["shop", "owed_at"], name="fulfilment_campaign_cost_idx", condition=Q(order=None)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="handed_over", handed_over_at__isnull=False)
                | (~Q(state="handed_over") & Q(handed_over_at__isnull=True)),
                name="fulfilment_handed_over_has_time",
            ),
            models.CheckConstraint(
                condition=(Q(delivery="pickup") & Q(pickup_point__isnull=False))
                | (Q(delivery="shipping") & ~Q(address="")),
                name="fulfilment_has_a_destination",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="fulfilment_quantity_positive"),
            models.CheckConstraint(condition=Q(worth__gte=0), name="fulfilment_worth_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.label} × {self.quantity} → {self.member_id}"
