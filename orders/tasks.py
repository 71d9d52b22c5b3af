"""Celery tasks for orders: thin wrappers over services, each safe to run twice or concurrently."""

from celery import shared_task

from . import services
from .payments import simulated


@shared_task(acks_late=True, ignore_result=True)
def cancel_overdue_orders() -> int:
    return services.cancel_overdue_orders()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True,
             retry_jitter=True, max_retries=8)
def start_refund(refund_id: int) -> None:
    services.send_refund_to_provider(refund_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_simulated_notifications() -> int:
    return simulated.deliver_due()
