"""Celery tasks for notifications: thin wrappers over services, each safe to run twice or concurrently."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_notifications() -> int:
    """Periodic (beat) and kicked after each commit: release due notifications and send due deliveries.

    Returns how many notifications and deliveries it dealt with.
    """
    report = services.deliver_due()
    if report.more:  # a backlog: continue in a fresh task rather than hold this worker
        deliver_notifications.delay()
    return report.items
