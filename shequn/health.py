"""GET /healthz: is the database up, is Redis up, did a Celery worker answer recently, are the outboxes
delivering.

- 503 "unavailable" when the database or Redis cannot be reached, or no worker answered lately: the
  failing part is named, never its address or the driver's message (the page is public).
- 200 "degraded" when everything answers but an outbox is failing (a receiver answering errors, a
  provider down) or has rows waiting longer than OUTBOX_BACKLOG_MAX_AGE; `reasons` says which and why.
- 200 "ok" otherwise. `ok` is true only then.

The outboxes' figures may be up to HEALTH_OUTBOX_CACHE_SECONDS old; the other parts are asked every time.
"""

import functools
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from . import outboxes
from .tasks import HEARTBEAT_CACHE_KEY

logger = logging.getLogger("shequn.health")


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception:  # any failure is the answer; its text (host, port) goes to the log only
        logger.warning("health: database unreachable", exc_info=True)
        return {"ok": False, "error": "unreachable"}


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    """One client per address for the process: its connection pool keeps the connection between probes
    (a new client per request paid a TCP connect every time)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def _check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "not configured: local-memory cache, in-process tasks"}
    try:
        _redis_client(settings.REDIS_URL).ping()
        return {"ok": True}
    except Exception:
        logger.warning("health: redis unreachable", exc_info=True)
        return {"ok": False, "error": "unreachable"}


def _check_worker(redis_ok: bool) -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in-process"}
    if not redis_ok:
        return {"ok": False, "error": "unknown: redis unreachable"}
    try:
        last = cache.get(HEARTBEAT_CACHE_KEY)
    except Exception:
        logger.warning("health: heartbeat unreadable", exc_info=True)
        return {"ok": False, "error": "heartbeat unreadable"}
    if last is None:
        return {"ok": False, "error": "no worker heartbeat seen"}
    age = time.time() - float(last)
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE.total_seconds()
    return {"ok": age <= max_age, "last_heartbeat_seconds_ago": round(age, 1)}


def _check_outboxes() -> tuple[dict, list[str]]:
    report, reasons = {}, []
    for outbox in outboxes.outboxes(shop_id=None):
        figures = outbox.figures
        report[outbox.name] = {
            "due": figures.due,
            "oldest_due_seconds": outbox.oldest_due_seconds,
            "retrying": figures.retrying,
            "failed_24h": figures.failed_24h,
        }
        reasons += outbox.problems
    return report, reasons


OUTBOX_CACHE_KEY = "health:outboxes"


def _outbox_report(redis_ok: bool) -> tuple[dict, list[str]]:
    """The outboxes' figures, kept HEALTH_OUTBOX_CACHE_SECONDS in the cache (only while Redis answers: a
    dead cache would add its time-out to every probe)."""
    ttl = settings.HEALTH_OUTBOX_CACHE_SECONDS
    if ttl <= 0 or not redis_ok:
        return _check_outboxes()
    try:
        cached = cache.get(OUTBOX_CACHE_KEY)
    except Exception:
        logger.warning("health: cached outbox figures unreadable", exc_info=True)
        return _check_outboxes()
    if cached is None:
        cached = _check_outboxes()
        try:
            cache.set(OUTBOX_CACHE_KEY, cached, ttl)
        except Exception:
            logger.warning("health: outbox figures not cached", exc_info=True)
    return cached


@never_cache
def healthz(request):  # noqa: ARG001 (a view's signature: the answer is the same for every request)
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["worker"] = _check_worker(checks["redis"]["ok"])
    down = [name for name, check in checks.items() if not check["ok"]]
    reasons = [f"{name}: {checks[name]['error']}" for name in down if "error" in checks[name]]
    reasons += [f"{name}: heartbeat too old" for name in down if "error" not in checks[name]]
    if checks["database"]["ok"]:
        checks["outboxes"], problems = _outbox_report(checks["redis"]["ok"])
        reasons += problems
    status = "unavailable" if down else "degraded" if reasons else "ok"
    return JsonResponse(
        {"status": status, "ok": status == "ok", "reasons": reasons, **checks},
        status=503 if down else 200,
    )
