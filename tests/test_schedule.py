"""Every scheduled job names a registered task, and the in-process runner runs them all."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command

from tests.database import url_of_test_database


def test_every_beat_entry_is_a_registered_task():
    current_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in current_app.tasks, name


@pytest.mark.django_db
def test_run_schedule_once_runs_every_job(capsys):
    from django.core.cache import cache

    from shequn.tasks import HEARTBEAT_CACHE_KEY

    call_command("run_schedule", "--once")
    assert cache.get(HEARTBEAT_CACHE_KEY) is not None
    assert "running" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_run_schedule_runs_every_job_in_a_fresh_process(tmp_path):
    """As scripts/run starts it: a new process that has imported nothing but the settings."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": url_of_test_database(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "run_schedule", "--once"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "failed" not in result.stderr, result.stderr
