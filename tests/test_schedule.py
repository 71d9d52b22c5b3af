"""Every scheduled job names a registered task, and the in-process runner runs them all."""

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command


def test_every_beat_entry_is_a_registered_task():
    current_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in current_app.tasks, name


@pytest.mark.django_db
def test_run_schedule_once_runs_every_job(capsys):
    from django.core.cache import cache

    from shequn.celery import HEARTBEAT_CACHE_KEY

    call_command("run_schedule", "--once")
    assert cache.get(HEARTBEAT_CACHE_KEY) is not None
    assert "running" in capsys.readouterr().out
