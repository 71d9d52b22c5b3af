"""Celery tasks for orders: thin wrappers over services, each safe to run twice or concurrently."""

from celery import shared_task

from shequn.jobs import run_counted, run_job

from . import services
from .payments import simulated


@shared_task(acks_late=True, ignore_result=True)
def cancel_overdue_orders() -> int | None:
    return run_counted("cancel-overdue-orders", services.cancel_overdue_orders)


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, retry_jitter=True, max_retries=8
)
def start_refund(refund_id: int) -> None:
    services.send_refund_to_provider(refund_id)


@shared_task(acks_late=True, ignore_result=True)
def recover_payments() -> int | None:
    """Ask WeChat Pay / Alipay about payments and refunds whose notification never came; hand over again
    refunds no provider accepted."""
    from . import reconciliation

    return run_counted(
        "payment-recovery",
        lambda: {
            "payments": reconciliation.recover_payments(),
            "refunds": reconciliation.recover_refunds(),
            "unsent refunds": reconciliation.resend_unsent_refunds(),
        },
    )


@shared_task(acks_late=True, ignore_result=True)
def reconcile_payments() -> int | None:
    """The latest provider statements against the ledger, for every enabled merchant account."""
    from . import reconciliation

    return run_counted("payment-reconciliation", reconciliation.reconcile_latest)


@shared_task(acks_late=True, ignore_result=True)
def check_order_ledgers() -> int | None:
    """Every order's paid and refunded figures against its succeeded payments and refunds."""
    from . import reconciliation

    result = run_job("order-ledger-check", reconciliation.check_order_ledgers)
    return result.items if result else None


@shared_task(acks_late=True, ignore_result=True)
def deliver_simulated_notifications() -> int:
    return simulated.deliver_due()


# --- Repeat-purchase reminders (orders.reminders): a short periodic pick, then batches -------------


@shared_task(acks_late=True, ignore_result=True)
def dispatch_repurchase_reminders() -> int | None:
    """Beat: hand the members due for a reminder to batch tasks (one run at a time, under a lease)."""
    from . import reminders

    result = run_job("repurchase-reminders", lambda r: reminders.dispatch_due_reminders(result=r))
    return result.items if result else None


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, retry_jitter=True, max_retries=5
)
def send_repurchase_reminders(due_ids: list[int]) -> int:
    """One batch (at most reminders.BATCH_SIZE members); sends each reminder once however often it runs."""
    from . import reminders

    result = run_job(
        "repurchase-reminders:batch", lambda r: reminders.send_reminder_batch(due_ids, result=r), lease=False
    )
    return result.items
