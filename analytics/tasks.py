"""The analytics job: a thin Celery wrapper over analytics.facts.refresh, run under its lease (shequn.jobs)."""

from celery import shared_task

from shequn.jobs import run_job

from . import facts


@shared_task(acks_late=True, ignore_result=True)
def refresh_facts() -> int | None:
    # However long a first full rebuild takes, the lease's heartbeat keeps it; a killed run frees the
    # job after the short default lease instead of holding it for a fixed hour.
    result = run_job(facts.JOB_NAME, lambda r: facts.refresh(result=r))
    return result.items if result is not None else None
