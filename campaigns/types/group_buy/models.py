"""拼团: teams and their seats.

The database holds the rules: a team never has more paid members than its size (CHECK on the seat
counter, which only one conditional UPDATE moves); a member is never twice in one team and never in
two open teams of one campaign (partial unique indexes on the live seat states).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign, money_field

__all__ = ["TeamState", "Team", "SeatState", "SeatRole", "TeamSeat", "LIVE_SEAT_STATES"]


class TeamState(models.TextChoices):
    PENDING = "pending", _("待团长付款")
    OPEN = "open", _("拼团中")
    SUCCEEDED = "succeeded", _("拼团成功")
    FAILED = "failed", _("拼团失败")
    VOID = "void", _("未开团")  # the leader never paid


class Team(models.Model):
    """A team (团) of one group-buy campaign. Opens when the leader's order is paid; succeeds the moment
    its `size`-th member has paid (or, tiered, at expiry when the first tier is reached); otherwise fails
    at `expires_at` and every paid order in it is refunded, each on its own."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="teams")
    group = models.ForeignKey("groups.Group", on_delete=models.PROTECT, related_name="+", verbose_name=_("开团群"))
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_teams", verbose_name=_("团长")
    )
    state = models.CharField(_("状态"), max_length=10, choices=TeamState.choices, default=TeamState.PENDING)
    size = models.PositiveSmallIntegerField(_("成团人数"))
    min_size = models.PositiveSmallIntegerField(
        _("最低成团人数"), help_text=_("阶梯拼团：第一档人数；普通拼团等于成团人数。")
    )
    seats_taken = models.PositiveSmallIntegerField(_("已付款人数"), default=0)
    time_limit_minutes = models.PositiveIntegerField(_("成团时限（分钟）"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    opened_at = models.DateTimeField(_("开团时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    simulated = models.BooleanField(_("模拟成团"), default=False, help_text=_("到期未满员，按活动设置自动补足成团。"))
    final_price = money_field(_("成团价"), null=True, blank=True)

    class Meta:
        verbose_name = _("拼团队伍")
        verbose_name_plural = _("拼团队伍")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["state", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(seats_taken__lte=F("size")), name="team_never_above_size"),
            models.CheckConstraint(
                condition=Q(min_size__gte=2) & Q(min_size__lte=F("size")), name="team_min_size_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign_id} ({self.seats_taken}/{self.size})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("campaigns:team", args=[self.campaign_id, self.pk])

    @property
    def seats_left(self) -> int:
        return max(self.size - self.seats_taken, 0)


class SeatRole(models.TextChoices):
    LEADER = "leader", _("团长")
    JOINER = "joiner", _("团员")


class SeatState(models.TextChoices):
    PENDING = "pending", _("待付款")
    SEATED = "seated", _("已付款")  # holds a seat of an open team
    WON = "won", _("已成团")
    LOST = "lost", _("未成团，已退款")
    BOUNCED = "bounced", _("满员或已结束，已退款")
    CANCELLED = "cancelled", _("未付款取消")
    REFUNDED = "refunded", _("成团后退款")


# A seat that blocks the member from taking another one in the same team (or another open team).
LIVE_SEAT_STATES = (SeatState.PENDING, SeatState.SEATED)


class TeamSeat(models.Model):
    """One member's place in a team, tied to the order that pays for it.

    pending → seated (paid, seat won by the conditional UPDATE) → won / lost; or pending → bounced
    (paid into a full, failed or expired team: refunded automatically, once) or cancelled (never paid).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="seats")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="team_seats", verbose_name=_("成员")
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("邀请人"),
    )
    role = models.CharField(_("角色"), max_length=8, choices=SeatRole.choices)
    state = models.CharField(_("状态"), max_length=10, choices=SeatState.choices, default=SeatState.PENDING)
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="team_seat")
    unit_price = money_field(_("付款单价"))
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)
    seat_number = models.PositiveSmallIntegerField(_("第几位"), null=True, blank=True)
    # Where the member acted from (the act is recorded when the payment lands, away from the request).
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    device = models.CharField(_("设备"), max_length=64, blank=True)
    # Tiered: what the member overpaid against the reached tier, refunded by the job.
    price_refund = money_field(_("应退差价"), default=0)
    # Stamped in the transaction that creates this seat's refund (failed team, bounce or tier difference):
    # a rerun of the job never refunds twice.
    refund_started_at = models.DateTimeField(_("已发起退款"), null=True, blank=True)

    class Meta:
        verbose_name = _("拼团席位")
        verbose_name_plural = _("拼团席位")
        ordering = ["seat_number", "created_at", "pk"]
        indexes = [models.Index(fields=["state", "refund_started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "member"],
                condition=Q(state__in=["pending", "seated", "won"]),
                name="team_member_once_per_team",
            ),
            models.UniqueConstraint(
                fields=["campaign", "member"],
                condition=Q(state__in=["pending", "seated"]),
                name="team_member_one_open_team_per_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.member_id} ({self.state})"
