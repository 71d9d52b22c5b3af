"""SOP playbooks (新群培育): what a shop does in a new group, day by day after it opens.

A Playbook is the shop's ordered list of steps, each `day` days after the group's opening day at a time of
day: a message to the members, an announcement, a campaign started from a template campaign, or a task
for the operator. A group gets one PlaybookRun when it is created (the playbook matched by its tag, its
kind, or the shop's default) with one RunStep per step: a copy of the step made then, with its due time,
so editing a playbook later changes the groups that get it afterwards, never the history of a running one.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Shop

MAX_DAY = 60  # a playbook covers a group's first two months at most
MAX_STEPS = 30
TITLE_MAX_LENGTH = 60
BODY_MAX_LENGTH = 1000
MAX_CAMPAIGN_DAYS = 30
# The job runs every few minutes: an automatic step is late only once a run should have taken it.
AUTOMATIC_GRACE = timedelta(minutes=15)


class StepAction(models.TextChoices):
    MESSAGE = "message", _("给成员发消息")
    ANNOUNCEMENT = "announcement", _("发群公告")
    CAMPAIGN = "campaign", _("开启活动")
    TASK = "task", _("运营任务")


# Steps the job performs by itself; a task waits for an operator to mark it done.
AUTOMATIC_ACTIONS = (StepAction.MESSAGE, StepAction.ANNOUNCEMENT, StepAction.CAMPAIGN)


class Playbook(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="playbooks")
    name = models.CharField(_("名称"), max_length=60)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    # Which new groups get it: a tag of the group first, then its kind, then the shop's default.
    match_tag = models.ForeignKey(
        "groups.Tag",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("匹配标签"),
    )
    match_kind = models.CharField(_("匹配群类型"), max_length=30, blank=True)
    is_default = models.BooleanField(_("店铺默认"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("培育剧本")
        verbose_name_plural = _("培育剧本")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="playbook_name_unique_in_shop"),
            models.UniqueConstraint(
                fields=["shop"], condition=Q(is_default=True), name="playbook_one_default_per_shop"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    day = models.PositiveSmallIntegerField(_("第几天"), help_text=_("开营当天为第 0 天"))
    at_time = models.TimeField(_("时间"), default="09:00")
    action = models.CharField(_("动作"), max_length=12, choices=StepAction.choices)
    title = models.CharField(_("标题"), max_length=TITLE_MAX_LENGTH)
    body = models.TextField(_("内容"), max_length=BODY_MAX_LENGTH, blank=True)
    campaign_template = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("活动模板"),
    )
    campaign_days = models.PositiveSmallIntegerField(_("活动持续天数"), default=2)
    # Who wrote the step last: a scheduled announcement is posted in their name.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        verbose_name = _("剧本步骤")
        verbose_name_plural = _("剧本步骤")
        ordering = ["day", "at_time", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(day__lte=MAX_DAY), name="playbook_step_day_in_range"),
            models.CheckConstraint(
                condition=Q(campaign_days__gte=1, campaign_days__lte=MAX_CAMPAIGN_DAYS),
                name="playbook_step_campaign_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"D{self.day} {self.title}"


class PlaybookRun(models.Model):
    """A group's playbook: one per group (the unique group decides), its steps due from `day0`."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    group = models.OneToOneField(
        "groups.Group", on_delete=models.CASCADE, related_name="playbook_run", verbose_name=_("群")
    )
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="runs", verbose_name=_("培育剧本"))
    day0 = models.DateField(_("开营日"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("群培育进度")
        verbose_name_plural = _("群培育进度")

    def __str__(self) -> str:
        return f"{self.group_id}: {self.playbook_id}"


class RunStepState(models.TextChoices):
    PENDING = "pending", _("待执行")
    DONE = "done", _("已完成")
    SKIPPED = "skipped", _("已跳过")
    FAILED = "failed", _("执行失败")


OVERDUE_LABEL = _("已逾期")


class RunStep(models.Model):
    """One step of a group's run. Moves only through playbooks.services, each by one conditional UPDATE:
    pending → done | skipped | failed, failed → pending (rescheduled) | skipped. "Overdue" is not stored: a
    pending step past its due time is overdue (RunStep.is_overdue)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="steps")
    step = models.ForeignKey(PlaybookStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    position = models.PositiveSmallIntegerField(_("序号"))
    day = models.PositiveSmallIntegerField(_("第几天"))
    action = models.CharField(_("动作"), max_length=12, choices=StepAction.choices)
    title = models.CharField(_("标题"), max_length=TITLE_MAX_LENGTH)
    body = models.TextField(_("内容"), max_length=BODY_MAX_LENGTH, blank=True)
    campaign_template = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign_days = models.PositiveSmallIntegerField(_("活动持续天数"), default=2)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    due_at = models.DateTimeField(_("计划时间"))
    state = models.CharField(_("状态"), max_length=8, choices=RunStepState.choices, default=RunStepState.PENDING)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Who did it: an operator (a task, a skip), or nobody for the job.
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("结果"), max_length=100, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("培育步骤")
        verbose_name_plural = _("培育步骤")
        ordering = ["due_at", "position"]
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["shop", "due_at"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="run_step_position_unique"),
            models.CheckConstraint(
                condition=~Q(state__in=["done", "skipped"]) | Q(done_at__isnull=False),
                name="run_step_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"D{self.day} {self.title}"

    @property
    def is_automatic(self) -> bool:
        return self.action in AUTOMATIC_ACTIONS

    def display_state(self, now) -> str:
        """pending / overdue / done / skipped / failed, as shown to operators."""
        late_at = self.due_at + (AUTOMATIC_GRACE if self.is_automatic else timedelta(0))
        if self.state == RunStepState.PENDING and late_at <= now:
            return "overdue"
        return self.state

    def state_label(self, now) -> str:
        shown = self.display_state(now)
        return OVERDUE_LABEL if shown == "overdue" else RunStepState(shown).label
