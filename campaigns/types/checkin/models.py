"""打卡 check-ins: one row per member, campaign and shop day; each member's standing; milestone rewards.

The database holds the rules: a member checks in once per campaign and day (unique on the shop-local
`day`, whatever races); a milestone reward is granted once per member, campaign and milestone (unique);
a standing is one row per member and campaign, the row every check-in of that member locks first.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign
from groups.hideable import Hideable

__all__ = ["CheckIn", "CheckinStanding", "CheckinMilestone"]


class CheckIn(Hideable):
    """One member's check-in (打卡) of one day of a campaign, in one of its groups.

    `day` is the shop's calendar day (Asia/Shanghai) the check-in counts for; `made_up` marks a missed day
    filled with a make-up card (补卡) later. Operators may hide a check-in from the group's feed (it still
    counts for the member's streak: hiding moderates the feed, it does not take a day away).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="check_ins")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+", verbose_name=_("群"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="check_ins", verbose_name=_("成员")
    )
    day = models.DateField(_("打卡日"))
    at = models.DateTimeField(_("打卡时间"), default=timezone.now)
    text = models.TextField(_("打卡内容"), blank=True)
    photo = models.ImageField(_("照片"), upload_to="checkins/%Y/%m/", blank=True)
    thumbnail = models.ImageField(_("缩略图"), upload_to="checkins/thumbs/%Y/%m/", blank=True)
    made_up = models.BooleanField(_("补卡"), default=False)

    class Meta:
        verbose_name = _("打卡")
        verbose_name_plural = _("打卡")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "group", "day"], name="checkin_feed_idx"),
            models.Index(fields=["campaign", "day"], name="checkin_campaign_day_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "day"],
                name="checkin_once_per_member_per_day",
                violation_error_message=_("今天已经打过卡了。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id} {self.day:%Y-%m-%d}"


class CheckinStanding(models.Model):
    """A member's standing in a check-in campaign: kept in step with their check-ins by the check-in service
    (under this row's lock), so pages read streaks and totals without counting rows."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="checkin_standings")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_standings", verbose_name=_("成员")
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("群")
    )
    total_days = models.PositiveIntegerField(_("累计打卡天数"), default=0)
    streak = models.PositiveIntegerField(_("连续打卡天数"), default=0, help_text=_("截至最近一次打卡的连续天数。"))
    best_streak = models.PositiveIntegerField(_("最长连续天数"), default=0)
    last_day = models.DateField(_("最近打卡日"), null=True, blank=True)
    cards_used = models.PositiveIntegerField(_("已用补卡"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("打卡成绩")
        verbose_name_plural = _("打卡成绩")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member"], name="checkin_standing_once_per_member"),
            models.CheckConstraint(
                condition=Q(streak__lte=models.F("best_streak")) & Q(best_streak__lte=models.F("total_days")),
                name="checkin_standing_streaks_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id}: {self.streak}/{self.total_days}"


class CheckinMilestone(models.Model):
    """A reward for reaching a streak milestone (连续打卡 N 天), granted once per member, campaign and N.

    Its points go to the member's points ledger (referrals.points) in the same transaction; a milestone with a
    coupon (kind coupon) gets it from its template once (the coupon type's grant key), `coupon_issued_at` set
    then (empty while the template could not give it: the job tries again)."""

    class Kind(models.TextChoices):
        POINTS = "points", _("积分")
        COUPON = "coupon", _("优惠券")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="checkin_milestones")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkin_milestones", verbose_name=_("成员")
    )
    days = models.PositiveIntegerField(_("连续天数"))
    kind = models.CharField(_("奖励类型"), max_length=10, choices=Kind.choices, default=Kind.POINTS)
    points = models.PositiveIntegerField(_("积分"), default=0)
    label = models.CharField(_("奖励名称"), max_length=60, blank=True)
    granted_at = models.DateTimeField(_("发放时间"), default=timezone.now)
    coupon_issued_at = models.DateTimeField(_("优惠券发放时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("打卡里程碑奖励")
        verbose_name_plural = _("打卡里程碑奖励")
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member", "days"], name="checkin_milestone_once"),
            models.CheckConstraint(condition=Q(days__gte=1), name="checkin_milestone_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id}: {self.days}"
