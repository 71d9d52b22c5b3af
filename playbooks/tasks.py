"""Celery tasks for playbooks: thin wrappers over playbooks.services, under the job's lease (shequn.jobs).

The lease keeps two beats from running it at once; the step's conditional UPDATE keeps any two runs (a
redelivered task, a run outlasting its lease) from performing a step twice.
"""

from celery import shared_task

from shequn.jobs import run_job

from . import services


@shared_task(acks_late=True, ignore_result=True)
def run_playbook_steps() -> int | None:
    result = run_job("playbook-steps", lambda r: services.run_due_steps(result=r))
    return result.items if result is not None else None
