"""Celery tasks for segments: thin wrappers over the services, each run under its job's lease (shequn.jobs)."""

from celery import shared_task

from shequn.jobs import run_job

from . import services, tagging


def _items(result) -> int | None:
    return result.items if result is not None else None


@shared_task(acks_late=True, ignore_result=True)
def recompute_auto_tags() -> int | None:
    return _items(run_job("auto-tags", lambda r: tagging.recompute_all(result=r)))


@shared_task(acks_late=True, ignore_result=True)
def finish_broadcasts() -> int | None:
    return _items(run_job("broadcast-finish", lambda r: services.finish_interrupted(result=r)))
