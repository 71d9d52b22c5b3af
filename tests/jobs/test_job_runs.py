"""Every periodic job runs under a lease (one live run at a time) and leaves a JobRun row: start, end,
duration, items, failures and the error of a failed run."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from shequn.jobs import acquire_lease, release_lease, run_job
from shequn.models import JobLease, JobRun, JobRunStatus
from tests.race import race

pytestmark = pytest.mark.django_db


def test_a_run_is_recorded_with_its_duration_items_and_shop_counts():
    def work(result):
        result.count(shop_id=7, n=3)
        result.count(shop_id=8)

    result = run_job("group-lifecycle", work)
    run = JobRun.objects.get()
    assert (run.job, run.status, run.items, run.failures) == ("group-lifecycle", JobRunStatus.SUCCEEDED, 4, 0)
    assert run.shop_items == {"7": 3, "8": 1}
    assert run.finished_at >= run.started_at and run.duration_ms is not None
    assert result.items == 4


def test_a_failing_run_is_recorded_as_failed_with_its_error_and_the_error_is_raised():
    def work(result):
        result.count(n=2)
        raise RuntimeError("数据库连接断开")

    with pytest.raises(RuntimeError):
        run_job("group-lifecycle", work)
    run = JobRun.objects.get()
    assert (run.status, run.items) == (JobRunStatus.FAILED, 2)
    assert "数据库连接断开" in run.error
    assert acquire_lease("group-lifecycle") is not None  # the lease was given back


def test_item_failures_mark_the_run_failed_but_keep_its_progress():
    def work(result):
        result.count(n=5)
        result.fail("会员 12：模板不存在")

    run_job("lurker-follow-ups", work)
    run = JobRun.objects.get()
    assert (run.status, run.items, run.failures, run.error) == (JobRunStatus.FAILED, 5, 1, "会员 12：模板不存在")


def test_a_job_whose_lease_is_held_does_not_run():
    token = acquire_lease("group-lifecycle")
    ran = []
    assert run_job("group-lifecycle", ran.append) is None
    assert ran == [] and not JobRun.objects.exists()
    release_lease("group-lifecycle", token)
    assert run_job("group-lifecycle", ran.append) is not None
    assert len(ran) == 1


def test_a_killed_runs_lease_expires_and_the_next_run_marks_it_interrupted():
    """A worker killed mid-run leaves a 'running' row and a lease that is only good until its expiry."""
    JobRun.objects.create(job="group-lifecycle")  # the killed run
    JobLease.objects.create(name="group-lifecycle", holder="dead-worker", expires_at=timezone.now())
    assert run_job("group-lifecycle", lambda result: result.count()) is not None
    statuses = dict(JobRun.objects.values_list("status", "items"))
    assert set(statuses) == {JobRunStatus.INTERRUPTED, JobRunStatus.SUCCEEDED}


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_the_same_job_at_once_only_one_does_the_work():
    inside = threading.Event()
    release = threading.Event()
    done = []

    def slow_work(result):
        inside.set()
        release.wait(10)  # hold the lease while the other racer tries
        done.append(1)

    def racer(i):
        if i == 0:
            return run_job("group-lifecycle", slow_work)
        inside.wait(10)
        try:
            return run_job("group-lifecycle", slow_work)
        finally:
            release.set()

    results = race(2, racer)
    assert done == [1]
    assert sorted(r is None for r in results) == [False, True]
    assert JobRun.objects.filter(job="group-lifecycle").count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_racing_for_a_free_lease_exactly_one_wins():
    results = race(8, lambda i: acquire_lease("series-open-next"))
    assert sum(r is not None for r in results) == 1, results


def test_runs_older_than_two_weeks_are_pruned_by_the_next_run():
    from shequn.jobs import RUN_HISTORY

    old = JobRun.objects.create(job="group-lifecycle", started_at=timezone.now() - RUN_HISTORY - timedelta(hours=1))
    other_job = JobRun.objects.create(job="lurker-follow-ups", started_at=old.started_at)
    run_job("group-lifecycle", lambda result: None)
    assert not JobRun.objects.filter(pk=old.pk).exists()
    assert JobRun.objects.filter(pk=other_job.pk).exists()
    assert JobRun.objects.filter(job="group-lifecycle").count() == 1


# The outbox pumps run concurrently by design (kicked after each commit, rows claimed with SKIP LOCKED);
# the heartbeat only proves a worker is alive.
NOT_LEASED = {"worker-heartbeat", "deliver-notifications", "deliver-simulated-payment-notifications"}


def test_every_other_periodic_job_is_leased_recorded_and_listed_for_operators():
    from celery import current_app
    from django.conf import settings

    from shequn.jobs import JOB_LABELS

    current_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if name in NOT_LEASED:
            continue
        assert name in JOB_LABELS, f"{name} is not on the operators' jobs page"
        current_app.tasks[entry["task"]].apply()
        assert JobRun.objects.filter(job=name, status=JobRunStatus.SUCCEEDED).exists(), name
        assert not JobLease.objects.filter(name=name, holder__gt="").exists(), f"{name} kept its lease"
