"""砍 砍价: bargain tasks and the cuts friends make.

The whole cut sequence is drawn when the bargain starts (campaigns.bargain_algorithm) and stored with
its seed, so an operator can audit it and the i-th friend always gets the i-th cut. The database holds
the rules: the cut counter never passes the planned number of cuts and the price never goes below the
floor (CHECKs; only one conditional UPDATE moves them); a friend cuts a bargain once (unique) and never
their own (CHECK); each planned cut is taken once (unique number); one live bargain per member and
campaign.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign, CampaignAct, money_field
from campaigns.types.assisted.models import FriendTask

__all__ = ["BargainState", "BargainTask", "BargainCut", "LIVE_BARGAIN_STATES"]


class BargainState(models.TextChoices):
    OPEN = "open", _("砍价中")
    FLOOR_REACHED = "floor_reached", _("已砍到底价")
    ORDERED = "ordered", _("已下单")
    PURCHASED = "purchased", _("已购买")
    EXPIRED = "expired", _("已过期")  # time ran out before the member bought
    LAPSED = "lapsed", _("超时未付款")  # reached the floor, not paid in time


LIVE_BARGAIN_STATES = (BargainState.OPEN, BargainState.FLOOR_REACHED, BargainState.ORDERED)


class BargainTask(FriendTask):
    """A member's bargain (砍价): friends cut `original_price` down to `floor_price` in `cuts_planned` cuts.

    open → floor_reached (the last cut; the payment deadline starts) → ordered → purchased; open →
    ordered when buying before the floor is allowed; open → expired at `expires_at`; floor_reached →
    lapsed at `pay_deadline`. An unpaid order that is cancelled gives the bargain back (or lets it lapse
    if its time is over).
    """

    acts_name, actor_name = "cuts", "cutter"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="bargains")
    starter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bargains", verbose_name=_("发起人")
    )
    group = models.ForeignKey("groups.Group", on_delete=models.PROTECT, related_name="+", verbose_name=_("发起群"))
    state = models.CharField(_("状态"), max_length=14, choices=BargainState.choices, default=BargainState.OPEN)
    original_price = money_field(_("原价"))
    floor_price = money_field(_("底价"))
    current_price = money_field(_("当前价"))
    seed = models.BigIntegerField(_("随机种子"))
    # The planned cuts in fen, in order: the i-th friend gets plan[i-1]. Fixed at start.
    plan = models.JSONField(_("砍价序列（分）"))
    cuts_planned = models.PositiveSmallIntegerField(_("计划刀数"))
    cuts_done = models.PositiveSmallIntegerField(_("已砍刀数"), default=0)
    started_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("砍价截止"))
    floor_reached_at = models.DateTimeField(_("砍到底价时间"), null=True, blank=True)
    pay_deadline = models.DateTimeField(_("付款截止"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    order = models.OneToOneField(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="bargain", verbose_name=_("订单")
    )

    class Meta:
        verbose_name = _("砍价")
        verbose_name_plural = _("砍价")
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["state", "pay_deadline"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cuts_done__lte=F("cuts_planned")), name="bargain_cuts_never_above_planned"
            ),
            models.CheckConstraint(
                condition=Q(current_price__gte=F("floor_price")),
                name="bargain_price_never_below_floor",
                violation_error_message=_("价格不能低于底价。"),
            ),
            models.CheckConstraint(
                condition=Q(floor_price__gt=0) & Q(floor_price__lt=F("original_price")),
                name="bargain_floor_below_original",
                violation_error_message=_("底价必须大于 0 且低于原价。"),
            ),
            models.CheckConstraint(
                condition=Q(current_price__lte=F("original_price")), name="bargain_price_never_above_original"
            ),
            models.UniqueConstraint(
                fields=["campaign", "starter"],
                condition=Q(state__in=["open", "floor_reached", "ordered"]),
                name="bargain_one_live_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign_id} ¥{self.current_price}"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:bargain", args=[self.pk])

    @property
    def cuts_left(self) -> int:
        return max(self.cuts_planned - self.cuts_done, 0)

    @property
    def amount_cut(self):
        return self.original_price - self.current_price


class BargainCut(models.Model):
    """One friend's cut (砍一刀) of one bargain: the `number`-th planned cut, `amount` yuan off."""

    task = models.ForeignKey(BargainTask, on_delete=models.CASCADE, related_name="cuts")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    cutter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bargain_cuts", verbose_name=_("砍价人")
    )
    starter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人")
    )
    number = models.PositiveSmallIntegerField(_("第几刀"))
    amount = money_field(_("砍掉金额"))
    price_after = money_field(_("砍后价格"))
    act = models.ForeignKey(CampaignAct, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    flagged = models.BooleanField(_("可疑"), default=False)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("砍价记录")
        verbose_name_plural = _("砍价记录")
        ordering = ["number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "cutter"],
                name="bargain_cut_once_per_friend",
                violation_error_message=_("你已经帮 TA 砍过一刀了，每人只能砍一次。"),
            ),
            models.UniqueConstraint(fields=["task", "number"], name="bargain_cut_number_unique"),
            models.CheckConstraint(
                condition=~Q(cutter=F("starter")),
                name="bargain_cut_not_self",
                violation_error_message=_("不能给自己砍价。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte="0.01"),
                name="bargain_cut_at_least_a_fen",
                violation_error_message=_("每刀至少砍 ¥0.01。"),
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="bargain_cut_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.number}: -{self.amount}"
