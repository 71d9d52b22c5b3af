"""Celery tasks of the platform itself."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "shequn:worker-heartbeat"


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Beat sends this every 30 s; /healthz reads when a worker last ran it."""
    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().timestamp(), timeout=3600)
