"""A worker killed mid-job: its short lease lapses within one ttl and the job runs again; while it lived,
its heartbeat kept the lease however many ttls the job took. A real process, killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from shequn.jobs import acquire_lease, run_job
from shequn.models import JobRun, JobRunStatus
from tests.database import url_of_test_database

from .test_worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
TTL_SECONDS = 2
JOB = "lease-recovery-test"

# A worker process whose job runs until it is killed.
WORKER = textwrap.dedent(
    f"""
    import os, time, django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    django.setup()
    from shequn.jobs import run_job
    run_job({JOB!r}, lambda result: time.sleep(600))
    """
)


@pytest.fixture
def worker():
    env = {**os.environ, "DATABASE_URL": url_of_test_database(), "JOB_LEASE_SECONDS": str(TTL_SECONDS)}
    process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=Path(django_settings.BASE_DIR), env=env)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_a_killed_workers_job_is_taken_up_again_within_the_short_lease(worker, settings):
    settings.JOB_LEASE_TTL = timedelta(seconds=TTL_SECONDS)  # this process's side, as the worker's
    assert wait_for(lambda: JobRun.objects.filter(job=JOB, status=JobRunStatus.RUNNING).exists(), seconds=60)

    # Alive for three ttls: the heartbeat keeps the lease, nobody else may start the job.
    time.sleep(3 * TTL_SECONDS)
    assert acquire_lease(JOB) is None

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed = time.monotonic()
    assert wait_for(lambda: run_job(JOB, lambda result: result.count()) is not None, seconds=4 * TTL_SECONDS)
    waited = time.monotonic() - killed

    assert waited <= TTL_SECONDS + 1.5  # a 10-minute fixed lease would hold it for minutes
    runs = dict(JobRun.objects.filter(job=JOB).values_list("status", "items"))
    assert runs == {JobRunStatus.INTERRUPTED: 0, JobRunStatus.SUCCEEDED: 1}
