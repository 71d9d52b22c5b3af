"""Campaign jobs (Celery). Thin: each calls a service whose effect a state check or a stamp decides."""

from celery import shared_task

from shequn.jobs import run_counted


@shared_task(acks_late=True)
def run_due_jobs() -> int | None:
    """Every minute: start and end campaigns on time; close expired teams (and other types' tasks) and
    pay the refunds they owe. Safe to run twice or concurrently."""
    from .services import run_due_jobs as run

    return run_counted("campaign-due-jobs", run)


@shared_task(acks_late=True)
def cancel_unpaid_team_orders(team_id: int) -> int:
    from .types.group_buy.kind import cancel_unpaid_team_orders as cancel

    return cancel(team_id)


@shared_task(acks_late=True)
def checkin_jobs() -> int | None:
    """Every 10 minutes: remind members who have not checked in near the end of the window (once a day
    each, within quiet hours and the cap), then grant milestones a standing reached and lacks. Safe to
    run twice or concurrently (unique notification keys and milestone rows)."""
    from .types.checkin.kind import run_jobs

    return run_counted("checkin-jobs", run_jobs)


@shared_task(acks_late=True)
def contest_jobs() -> int | None:
    """Every 5 minutes: settle every ended contest not yet settled (the final ranking frozen once, prizes
    owed), then grant prizes still pending. Safe to run twice or concurrently (the settlement row and each
    prize's conditional move decide)."""
    from .types.contest.kind import run_jobs

    return run_counted("contest-jobs", run_jobs)
