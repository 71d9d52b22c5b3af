"""Running periodic jobs safely: a lease so only one run of a job is live, and a JobRun row per run.

    result = run_job("group-lifecycle", lambda result: lifecycle_pass(result=result))

- Only one beat runs, but a slow run, a redelivered task or a second beat must not run a job twice at
  once: `run_job` first takes the job's lease (one conditional UPDATE on an expired lease row).
  Whoever does not get it returns None and does nothing.
- The lease is short (`JOB_LEASE_TTL`, a minute) and a heartbeat thread renews it every third of that
  while the work runs, so a long run keeps it and a worker killed mid-run stops renewing: its lease
  lapses within one ttl and the next scheduled run takes the job up, marking the dead run's JobRun
  "interrupted". The work itself is safe to redo: every job writes its results under a unique key (a
  reminder per cycle, a snapshot per week…), so a re-run adds nothing.
- Batches fanned out by a job (many at once, by design) record their run without a lease
  (`lease=False`); their rows are claimed with row locks and unique keys instead.
"""

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import JobLease, JobRun, JobRunStatus

logger = logging.getLogger("shequn.jobs")

RUN_HISTORY = timedelta(days=14)  # JobRun rows older than this are pruned by the job's next run

# What the operators' jobs page calls each job (keys are the JobRun.job names; beat entries use the same).
JOB_LABELS = {
    "repurchase-reminders": _("复购提醒：挑选到期会员并分批发送"),
    "repurchase-reminders:batch": _("复购提醒：发送一批（每批至多 1000 人）"),
    "group-lifecycle": _("社群生命周期：按时开营、冷却、归档"),
    "invite-link-expiry": _("邀请链接到期失效"),
    "series-open-next": _("群活码：群满后预开下一个群"),
    "lurker-follow-ups": _("潜水成员：每周期一次私信关怀"),
    "group-health-snapshots": _("社群健康周报快照"),
    "wechat-qr-expiry": _("群空间：微信群二维码到期前提醒运营"),
    "cancel-overdue-orders": _("超时未付款订单自动取消（库存退回）"),
    "campaign-due-jobs": _("营销活动：按时开始/结束，过期团失败退款，助力与砍价到期"),
    "playbook-steps": _("新群培育：执行到期的自动步骤（消息、公告、活动），每群每步一次"),
    "checkin-jobs": _("打卡：窗口结束前提醒未打卡成员，补发已达成的里程碑奖励"),
    "contest-jobs": _("排行榜比赛：结束后结算一次最终排名，发放奖品"),
    "grant-due-referral-rewards": _("推荐奖励：审核期满后发放"),
    "detect-referral-fraud": _("风控：检测可疑推荐"),
    "apply-fraud-flag-deadlines": _("风控：逾期未审核的标记按店铺默认处理"),
    "refresh-leaderboards": _("排行榜：从数据库重建当前榜单"),
    "payment-recovery": _("支付：查询迟迟没有通知的支付和退款"),
    "payment-reconciliation": _("支付：昨日账单与本系统对账"),
    "order-ledger-check": _("支付：每笔订单的已付/已退金额与支付流水核对"),
    "analytics-facts": _("数据分析：按变动重算每日事实表"),
    "auto-tags": _("自动标签：按消费与活跃重算会员标签"),
    "broadcast-finish": _("群发：补完发送中断的群发"),
}
# The outbox pumps (deliver-notifications, deliver-simulated-payment-notifications) are not run under a
# lease: they are kicked after every commit as well as by beat, and claim their rows with SKIP LOCKED, so
# several may run at once by design (a lease would make a kick skip and delay a message).


@dataclass
class JobResult:
    """What a run did, filled in by the job as it goes (so a failing run still reports its progress)."""

    items: int = 0
    failures: int = 0
    shop_items: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, shop_id: int | None = None, n: int = 1) -> None:
        self.items += n
        if shop_id is not None:
            self.shop_items[str(shop_id)] = self.shop_items.get(str(shop_id), 0) + n

    def fail(self, message: str) -> None:
        self.failures += 1
        if len(self.errors) < 20:
            self.errors.append(message)


# --- The lease ------------------------------------------------------------------------------------


def acquire_lease(name: str, ttl: timedelta | None = None) -> str | None:
    """Take the job's lease if nobody holds a live one; returns the holder token, or None.

    The UPDATE's row count decides: two callers at once both see the expired row, but PostgreSQL makes
    the second re-check `expires_at <= now` after the first commits, and it no longer matches.
    """
    ttl = ttl or settings.JOB_LEASE_TTL
    now = timezone.now()
    token = uuid.uuid4().hex
    JobLease.objects.bulk_create([JobLease(name=name, holder="", expires_at=now)], ignore_conflicts=True)
    taken = JobLease.objects.filter(name=name, expires_at__lte=now).update(holder=token, expires_at=now + ttl)
    return token if taken == 1 else None


def release_lease(name: str, token: str) -> None:
    JobLease.objects.filter(name=name, holder=token).update(holder="", expires_at=timezone.now())


def renew_lease(name: str, token: str, ttl: timedelta) -> bool:
    """Extend a lease we hold by `ttl` from now; False if it is no longer ours (it lapsed and was taken)."""
    return JobLease.objects.filter(name=name, holder=token).update(expires_at=timezone.now() + ttl) == 1


class _LeaseHeartbeat(threading.Thread):
    """Renews a held lease every third of its ttl until stopped, on a connection of its own."""

    def __init__(self, name: str, token: str, ttl: timedelta):
        super().__init__(name=f"lease-heartbeat-{name}", daemon=True)
        self.job, self.token, self.ttl = name, token, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.ttl.total_seconds() / 3):
                if not renew_lease(self.job, self.token, self.ttl):
                    logger.warning(
                        "job %s lost its lease (stalled longer than %s); another run may start", self.job, self.ttl
                    )
                    return
        except Exception:
            logger.exception("job %s: renewing its lease failed; it lapses within %s", self.job, self.ttl)
        finally:
            connections.close_all()  # this thread's connections only


# --- Running a job --------------------------------------------------------------------------------


def run_job(
    name: str, work: Callable[[JobResult], object], *, lease: bool = True, ttl: timedelta | None = None
) -> JobResult | None:
    """Run `work(result)` as one recorded run of `name`; None if another run holds the lease.

    The run's row is written outside the work's transaction, so the jobs page sees a run while it is
    live and still sees it (as failed, with the error) when the work raises; the error is re-raised.
    """
    ttl = ttl or settings.JOB_LEASE_TTL
    token = acquire_lease(name, ttl) if lease else None
    if lease and token is None:
        logger.info("job %s is already running elsewhere; skipped", name)
        return None
    heartbeat = _LeaseHeartbeat(name, token, ttl) if token else None
    if heartbeat:
        heartbeat.start()
    try:
        if lease:
            JobRun.objects.filter(job=name, status=JobRunStatus.RUNNING).update(
                status=JobRunStatus.INTERRUPTED, error=str(_("运行中进程被终止（下一次运行时发现）。"))
            )
        run = JobRun.objects.create(job=name, started_at=timezone.now())
        result = JobResult()
        started = time.monotonic()
        try:
            work(result)
        except Exception:
            _finish(run, result, started, status=JobRunStatus.FAILED, error=traceback.format_exc()[-4000:])
            raise
        status = JobRunStatus.SUCCEEDED if not result.failures else JobRunStatus.FAILED
        _finish(run, result, started, status=status, error="\n".join(result.errors)[-4000:])
        JobRun.objects.filter(job=name, started_at__lt=timezone.now() - RUN_HISTORY).delete()
        return result
    finally:
        if token is not None:
            # Not joined: a renewal in flight finds the lease released and changes nothing.
            heartbeat.stopped.set()
            release_lease(name, token)


def run_counted(name: str, work: Callable[[], int | dict | None], **options) -> int | None:
    """run_job for work that returns how many items it handled (or a dict of counts); None if skipped."""

    def counted(result: JobResult) -> None:
        done = work()
        result.count(n=sum(done.values()) if isinstance(done, dict) else (done or 0))

    result = run_job(name, counted, **options)
    return result.items if result else None


def _finish(run: JobRun, result: JobResult, started: float, *, status: str, error: str) -> None:
    JobRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=timezone.now(),
        duration_ms=int((time.monotonic() - started) * 1000),
        items=result.items,
        failures=result.failures,
        shop_items=result.shop_items,
        error=error,
    )


# --- What the operators' jobs page shows ---------------------------------------------------------------


def job_overview(*, shop_id: int, now=None) -> list[dict]:
    """Each job's last run and its last 24 hours (runs, failed runs, failures, this shop's items): 3 queries."""
    now = now or timezone.now()
    names = list(JOB_LABELS)
    latest = JobRun.objects.filter(job__in=names).values("job").annotate(last=Max("pk")).order_by()
    last_runs = {run.job: run for run in JobRun.objects.filter(pk__in=[row["last"] for row in latest])}
    day = {
        row["job"]: row
        for row in JobRun.objects.filter(job__in=names, started_at__gte=now - timedelta(hours=24))
        .values("job")
        .order_by()
        .annotate(
            runs=Count("pk"),
            failed_runs=Count("pk", filter=~Q(status__in=[JobRunStatus.SUCCEEDED, JobRunStatus.RUNNING])),
            failures=Sum("failures"),
        )
    }
    schedule = settings.CELERY_BEAT_SCHEDULE
    rows = []
    for name in names:
        run = last_runs.get(name)
        stats = day.get(name, {})
        rows.append(
            {
                "name": name,
                "label": JOB_LABELS[name],
                "every": schedule[name]["schedule"] if name in schedule else None,
                "last": run,
                "shop_items": run.shop_items.get(str(shop_id), 0) if run else 0,
                "runs_24h": stats.get("runs", 0),
                "failed_runs_24h": stats.get("failed_runs", 0),
                "failures_24h": stats.get("failures") or 0,
            }
        )
    return rows


def recent_runs():
    return JobRun.objects.filter(job__in=list(JOB_LABELS)).order_by("-started_at", "-pk")
