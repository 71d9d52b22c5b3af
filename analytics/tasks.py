"""The analytics job: a thin Celery wrapper over analytics.facts.refresh, run under its lease (shequn.jobs)."""

from datetime import timedelta

from celery import shared_task

from shequn.jobs import run_job

from . import facts


@shared_task(acks_late=True, ignore_result=True)
def refresh_facts() -> int | None:
    # A first run rebuilds every shop's history: give it a longer lease than the default ten minutes.
    result = run_job(facts.JOB_NAME, lambda r: facts.refresh(result=r), ttl=timedelta(hours=1))
    return result.items if result is not None else None
