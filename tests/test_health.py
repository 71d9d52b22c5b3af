"""/healthz and the Celery wiring, against the real Redis broker and a real worker process."""

import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.core.cache import cache

from shequn.celery import app
from shequn.tasks import HEARTBEAT_CACHE_KEY, heartbeat

pytestmark = pytest.mark.django_db


def _wait_for(predicate, *, seconds: float) -> bool:
    """Poll an outside process's effect, bounded; returns whether it happened in time."""
    tick = threading.Event()
    for _ in range(int(seconds / 0.2)):
        if predicate():
            return True
        tick.wait(0.2)
    return predicate()


def test_healthz_reports_each_part_and_fails_without_a_worker(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["redis"]["ok"] is True
    assert body["worker"]["ok"] is False and "heartbeat" in body["worker"]["error"]
    assert response.status_code == 503 and body["ok"] is False


def test_healthz_is_ok_once_a_worker_has_answered(client):
    heartbeat.apply()  # what a worker does when beat sends the task
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["worker"]["last_heartbeat_seconds_ago"] < 5


def test_stale_heartbeat_is_not_healthy(client):
    import time

    cache.set(HEARTBEAT_CACHE_KEY, time.time() - settings.WORKER_HEARTBEAT_MAX_AGE.total_seconds() - 1)
    assert client.get("/healthz").status_code == 503


def test_broker_is_redis_and_beat_sends_the_heartbeat():
    assert app.conf.broker_url == settings.REDIS_URL
    assert app.conf.task_acks_late is True
    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == heartbeat.name


@pytest.mark.celery
def test_real_worker_consumes_from_redis_and_healthz_sees_it(client, tmp_path):
    """End to end: the task goes through the Redis broker to a separate worker process."""
    queue = f"test-{os.getpid()}-{tmp_path.name}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shequn",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert client.get("/healthz").status_code == 503
        heartbeat.apply_async(queue=queue)
        assert _wait_for(lambda: cache.get(HEARTBEAT_CACHE_KEY) is not None, seconds=60), _output(worker)
        assert client.get("/healthz").status_code == 200
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _output(process) -> str:
    process.terminate()
    return process.communicate(timeout=30)[0].decode(errors="replace")[-3000:]


def test_healthz_reuses_one_redis_connection(client):
    """The probe's Redis client is pooled for the process: every probe talks over the same connection
    (Redis numbers each connection it accepts; a new client per probe got a new number each time)."""
    from shequn import health

    def connection_number() -> int:
        return health._redis_client(settings.REDIS_URL).client_id()

    client.get("/healthz")
    first = connection_number()
    for _ in range(3):
        assert client.get("/healthz").json()["redis"] == {"ok": True}
    assert connection_number() == first


def test_healthz_keeps_the_outbox_figures_for_a_few_seconds(client, settings):
    """A probe every few seconds runs the outboxes' aggregates once per HEALTH_OUTBOX_CACHE_SECONDS; the
    database itself is still asked every time (one SELECT 1)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.HEALTH_OUTBOX_CACHE_SECONDS = 10
    heartbeat()
    with CaptureQueriesContext(connection) as fresh:
        first = client.get("/healthz").json()
    with CaptureQueriesContext(connection) as kept:
        again = client.get("/healthz").json()

    assert len(fresh) > 1 and [q["sql"] for q in kept] == ["SELECT 1"]
    assert again["outboxes"] == first["outboxes"] and again["status"] == "ok"
    cache.delete("health:outboxes")  # the figures' time is up
    with CaptureQueriesContext(connection) as expired:
        client.get("/healthz")
    assert len(expired) == len(fresh)
