"""比 contests: the settlement's marker, the frozen final ranking and the prizes it owes.

The database holds the rules: a contest is settled once (one ContestSettlement row per campaign, inserted
first by the settlement: a second run finds it and freezes nothing); the final ranking is stored rows, one
per rank and one per member or group (unique), never recomputed from Redis; each prize is one row under one
key (unique), and its grant moves it pending → granted by one conditional UPDATE, so a prize is given once.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign, money_field

__all__ = ["ContestSettlement", "ContestEntry", "ContestPrize", "PrizeKind", "PrizeState"]


class ContestSettlement(models.Model):
    """The contest's settlement (结算): inserted once, in the transaction that freezes the ranking."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="contest_settlement")
    settled_at = models.DateTimeField(_("结算时间"), default=timezone.now)
    entries = models.PositiveIntegerField(_("上榜数"), default=0)
    prizes = models.PositiveIntegerField(_("奖品数"), default=0)

    class Meta:
        verbose_name = _("排行榜结算")
        verbose_name_plural = _("排行榜结算")

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.settled_at:%Y-%m-%d %H:%M}"


class ContestEntry(models.Model):
    """One row of a contest's final ranking (最终排名), frozen at the settlement: a member, or a group in a
    group-vs-group contest. `score` is the metric's value (money in fen); `reached_at` when it was reached
    (the tie-break: the earlier wins); `qualified` whether it reached the contest's minimum."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contest_entries")
    rank = models.PositiveIntegerField(_("名次"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contest_entries",
        verbose_name=_("成员"),
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("群")
    )
    name = models.CharField(_("名称"), max_length=60, blank=True)
    score = models.BigIntegerField(_("成绩"))
    reached_at = models.DateTimeField(_("达到时间"))
    qualified = models.BooleanField(_("达到门槛"), default=True)

    class Meta:
        verbose_name = _("排行榜最终排名")
        verbose_name_plural = _("排行榜最终排名")
        ordering = ["campaign", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "rank"], name="contest_entry_one_per_rank"),
            models.UniqueConstraint(
                fields=["campaign", "member"], condition=Q(member__isnull=False), name="contest_entry_once_per_member"
            ),
            models.UniqueConstraint(
                fields=["campaign", "group"], condition=Q(group__isnull=False), name="contest_entry_once_per_group"
            ),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | Q(group__isnull=False), name="contest_entry_member_or_group"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="contest_entry_rank_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} #{self.rank}"


class PrizeKind(models.TextChoices):
    COUPON = "coupon", _("优惠券")
    POINTS = "points", _("积分")
    ITEM = "item", _("实物")
    CASH = "cash", _("现金佣金")


class PrizeState(models.TextChoices):
    PENDING = "pending", _("待发放")
    HELD = "held", _("风控审核中")
    GRANTED = "granted", _("已发放")
    WITHHELD = "withheld", _("不予发放")
    FAILED = "failed", _("发放失败")


class ContestPrize(models.Model):
    """A prize a contest owes one member for one ranking row (奖品), under one key.

    pending → granted (through the reward machinery, once: the coupon grant, the points ledger, the fulfilment
    queue and the commission ledger each take `key`); pending → held when the member has an open fraud flag at
    the settlement, held → pending (released) or withheld by an operator's review; pending → failed when the
    grant is refused (a coupon template sold out or ended), failed → pending by an operator's retry.
    `cost` is what the prize costs the shop in yuan (cash, the points' value, the item's stated cost; 0 for a
    coupon, whose cost is the discount of the order that uses it): campaign ROI sums granted prizes' cost.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contest_prizes")
    entry = models.ForeignKey(ContestEntry, on_delete=models.CASCADE, related_name="prizes")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contest_prizes", verbose_name=_("获奖人")
    )
    tier = models.PositiveIntegerField(_("奖项档位"))
    kind = models.CharField(_("奖品类型"), max_length=8, choices=PrizeKind.choices)
    label = models.CharField(_("奖品"), max_length=120)
    points = models.PositiveIntegerField(_("积分"), default=0)
    amount = money_field(_("金额"), default=0)
    coupon_template = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("券模板")
    )
    cost = money_field(_("成本（元）"), default=0)
    key = models.CharField(_("唯一键"), max_length=80, unique=True)
    state = models.CharField(_("状态"), max_length=10, choices=PrizeState.choices, default=PrizeState.PENDING)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    granted_at = models.DateTimeField(_("发放时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("排行榜奖品")
        verbose_name_plural = _("排行榜奖品")
        ordering = ["campaign", "entry__rank", "tier", "pk"]
        indexes = [models.Index(fields=["campaign", "state"], name="contest_prize_state_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="granted") | Q(granted_at__isnull=False), name="contest_prize_granted_has_time"
            ),
            models.CheckConstraint(condition=Q(cost__gte=0) & Q(amount__gte=0), name="contest_prize_money_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.state}"
