"""Celery tasks for referrals: thin wrappers over services, each safe to run twice or concurrently."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def grant_due_rewards() -> int:
    """Grant rewards whose review period is over (each exactly once)."""
    from shequn.jobs import run_counted

    return run_counted("grant-due-referral-rewards", services.grant_due_rewards)
