"""GET /healthz: is the database up, is Redis up, did a Celery worker answer recently."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .celery import HEARTBEAT_CACHE_KEY


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any failure is the answer
        return {"ok": False, "error": str(exc)[:200]}


def _check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "not configured: local-memory cache, in-process tasks"}
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _check_worker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in-process"}
    try:
        last = cache.get(HEARTBEAT_CACHE_KEY)
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if last is None:
        return {"ok": False, "error": "no worker heartbeat seen"}
    age = time.time() - float(last)
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE.total_seconds()
    return {"ok": age <= max_age, "last_heartbeat_seconds_ago": round(age, 1)}


@never_cache
def healthz(request):
    checks = {"database": _check_database(), "redis": _check_redis(), "worker": _check_worker()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
