"""Celery tasks for referrals: thin wrappers over services, each safe to run twice or concurrently."""

from celery import shared_task

from shequn.jobs import run_counted

from . import fraud, leaderboards, services, stewards


def _grant_all() -> dict:
    return {"referral": services.grant_due_rewards(), "steward": stewards.grant_due_rewards()}


@shared_task(acks_late=True, ignore_result=True)
def grant_due_rewards() -> int:
    """Grant referral and stewards' rewards whose review period is over (each exactly once)."""
    return run_counted("grant-due-referral-rewards", _grant_all)


@shared_task(acks_late=True, ignore_result=True)
def refresh_boards() -> int | None:
    """Rebuild the current boards of shops with recent events: repairs any live update a crash lost."""
    return run_counted("refresh-leaderboards", leaderboards.rebuilding.refresh_recent_boards)


@shared_task(acks_late=True, ignore_result=True)
def detect_fraud() -> int | None:
    """Raise fraud flags over recent activity (each once per subject and period)."""
    return run_counted("detect-referral-fraud", fraud.detect)


@shared_task(acks_late=True, ignore_result=True)
def apply_flag_deadlines() -> int | None:
    """Undecided fraud flags past their deadline follow their shop's default decision."""
    return run_counted("apply-fraud-flag-deadlines", fraud.apply_deadlines)
