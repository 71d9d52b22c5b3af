"""Asking a worker to run a Celery task now, naming the task rather than importing it.

A service queues work for its app's worker (deliver the outbox, start a refund) and the app's tasks module
calls that service back: were the service to import the tasks module, the two would import each other. So
the service names the task, as a view reverses a URL by name, and Celery's registry finds it. The registry
is filled by autodiscovery of every app's tasks module: a worker does it as it starts, any other process
(web, shell, tests) on its first kick of a task it has not seen.
"""

from celery import Task, current_app
from django.db import transaction


def task(name: str) -> Task:
    """The registered Celery task called `name` (a task's name is its module and function: orders.tasks.x)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def kick(name: str, *args) -> None:
    """Queue the named task with `args` now."""
    task(name).delay(*args)


def kick_after_commit(name: str, *args) -> None:
    """Queue the named task once the caller's transaction commits (at once outside one), never after a
    rollback. Robust: with the broker (Redis) down the kick is lost, not the caller's change; every queue
    of work here has a periodic job that picks up what no kick started."""
    transaction.on_commit(lambda: kick(name, *args), robust=True)
