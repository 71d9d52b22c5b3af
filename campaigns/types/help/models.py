"""帮 助力: help tasks and the helps friends give them.

The database holds the rules: a task never counts more helps than it needs (CHECK on the counter, which
only one conditional UPDATE moves); a friend helps a task once (unique), never their own (CHECK), and at
most the campaign's number of times per campaign (unique slot per helper); one open task per member
and campaign; the reward is granted only to a completed task.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import Campaign, CampaignAct, money_field
from campaigns.types.assisted.models import FriendTask

__all__ = ["HelpTaskState", "HelpTask", "Help"]


class HelpTaskState(models.TextChoices):
    OPEN = "open", _("助力中")
    COMPLETED = "completed", _("助力成功")
    EXPIRED = "expired", _("已过期")


class HelpTask(FriendTask):
    """A member's help task (助力任务): `helps_needed` friends must tap help before `expires_at`.

    The K-th help completes it and grants the reward in the same transaction, exactly once; an
    unfinished task expires (HelpKind.expire_due).
    """

    acts_name, actor_name = "helps", "helper"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="help_tasks")
    starter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_tasks", verbose_name=_("发起人")
    )
    group = models.ForeignKey("groups.Group", on_delete=models.PROTECT, related_name="+", verbose_name=_("发起群"))
    state = models.CharField(_("状态"), max_length=10, choices=HelpTaskState.choices, default=HelpTaskState.OPEN)
    helps_needed = models.PositiveSmallIntegerField(_("需要助力人数"))
    help_count = models.PositiveSmallIntegerField(_("已助力人数"), default=0)
    started_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("截止时间"))
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expired_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    reward_granted_at = models.DateTimeField(_("奖励发放时间"), null=True, blank=True)
    # The reward as it was when granted (the campaign's settings may not change later, but the record stays).
    reward = models.JSONField(_("奖励"), default=dict, blank=True)
    # A free item's worth: the campaign SKU's price when the reward was granted (None: no SKU, or a price reward).
    reward_value = money_field(_("赠品价值（元）"), null=True, blank=True)
    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="help_task",
        verbose_name=_("奖励订单"),
    )

    class Meta:
        verbose_name = _("助力任务")
        verbose_name_plural = _("助力任务")
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["state", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(help_count__lte=F("helps_needed")),
                name="help_task_never_above_needed",
                violation_error_message=_("助力人数不能超过需要的人数。"),
            ),
            models.CheckConstraint(condition=Q(helps_needed__gte=1), name="help_task_needs_a_help"),
            models.CheckConstraint(
                condition=Q(reward_granted_at__isnull=True) | Q(state="completed"),
                name="help_task_reward_only_when_completed",
            ),
            models.UniqueConstraint(
                fields=["campaign", "starter"], condition=Q(state="open"), name="help_task_one_open_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.campaign_id} ({self.help_count}/{self.helps_needed})"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:help_task", args=[self.pk])

    @property
    def helps_left(self) -> int:
        return max(self.helps_needed - self.help_count, 0)

    def is_open_at(self, now) -> bool:
        return self.state == HelpTaskState.OPEN and self.expires_at > now


class Help(models.Model):
    """One friend's help (助力) of one task; `number` is its place (1…K) as the task's counter gave it."""

    task = models.ForeignKey(HelpTask, on_delete=models.CASCADE, related_name="helps")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="helps_given", verbose_name=_("助力人")
    )
    starter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人")
    )
    number = models.PositiveSmallIntegerField(_("第几位"))
    # Which of the helper's allowed helps in this campaign this one is (1…helps per helper).
    helper_slot = models.PositiveSmallIntegerField(_("本活动第几次助力"))
    act = models.ForeignKey(CampaignAct, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    flagged = models.BooleanField(_("可疑"), default=False)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("助力")
        verbose_name_plural = _("助力")
        ordering = ["number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "helper"],
                name="help_once_per_task",
                violation_error_message=_("你已经为 TA 助力过了，每人只能助力一次。"),
            ),
            models.UniqueConstraint(fields=["task", "number"], name="help_number_unique"),
            models.UniqueConstraint(fields=["campaign", "helper", "helper_slot"], name="help_slot_per_helper"),
            models.CheckConstraint(
                condition=~Q(helper=F("starter")), name="help_not_self", violation_error_message=_("不能给自己助力。")
            ),
            models.CheckConstraint(condition=Q(number__gte=1) & Q(helper_slot__gte=1), name="help_numbers_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.number}: {self.helper_id}"
