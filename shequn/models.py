"""Bookkeeping of the periodic jobs: a lease per job (one run at a time) and a row per run.

Both live here, in the project package, because every app's jobs use them (shequn/jobs.py).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobLease(models.Model):
    """Who may run a job now. Taken by one conditional UPDATE on an expired lease, so of two beats or
    workers starting the same job at once exactly one runs it; a killed holder's lease simply expires."""

    name = models.CharField(_("任务"), max_length=80, primary_key=True)
    holder = models.CharField(_("持有者"), max_length=64, blank=True)
    expires_at = models.DateTimeField(_("到期时间"))

    class Meta:
        verbose_name = _("任务租约")
        verbose_name_plural = _("任务租约")

    def __str__(self) -> str:
        return self.name


class JobRunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")
    INTERRUPTED = "interrupted", _("中断")


class JobRun(models.Model):
    """One run of a periodic job or of one batch it fanned out: when, how long, how much, what failed."""

    job = models.CharField(_("任务"), max_length=80)
    status = models.CharField(_("状态"), max_length=12, choices=JobRunStatus.choices, default=JobRunStatus.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), null=True, blank=True)
    items = models.PositiveIntegerField(_("处理条数"), default=0)
    failures = models.PositiveIntegerField(_("失败条数"), default=0)
    # {shop_id: items}: what an operator of one shop may see of a run that served every shop.
    shop_items = models.JSONField(_("各店处理条数"), default=dict, blank=True)
    error = models.TextField(_("错误信息"), blank=True)

    class Meta:
        verbose_name = _("任务运行")
        verbose_name_plural = _("任务运行")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["job", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.job} @ {self.started_at:%Y-%m-%d %H:%M:%S}"
