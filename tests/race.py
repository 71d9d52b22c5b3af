"""Run a function in N threads that start together, each on its own database connection.

Used by the concurrency tests: every racer runs in its own real PostgreSQL transaction, so the
guard under test (a conditional UPDATE, a unique constraint, a row lock) is what decides.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def race(n: int, fn: Callable[[int], object], *, timeout: float = 30) -> list[object]:
    """Call fn(0..n-1) concurrently; return each result or the exception it raised."""
    start = threading.Barrier(n, timeout=timeout)

    def run(i: int):
        try:
            start.wait()
            return fn(i)
        except Exception as exc:  # the outcome of a racer is data for the test
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


class Gate:
    """Makes a naive check-then-act lose deterministically: every racer reads before anyone writes."""

    def __init__(self, parties: int, timeout: float = 30):
        self._barrier = threading.Barrier(parties, timeout=timeout)

    def wait(self) -> None:
        self._barrier.wait()


def lock_elsewhere(model, pk: int) -> str:
    """From another connection, lock the row without waiting and write to it: "free", or "locked: …".

    Tells whether the calling thread holds the row (or an open transaction that wrote it) right now.
    """
    from django.db import OperationalError, transaction
    from django.db.models import F

    outcome = ["probe hung"]

    def run():
        try:
            with transaction.atomic():
                model.objects.select_for_update(nowait=True).get(pk=pk)
                name = model._meta.pk.attname
                model.objects.filter(pk=pk).update(**{name: F(name)})
            outcome[0] = "free"
        except OperationalError as exc:
            outcome[0] = f"locked: {exc}"
        except Exception as exc:  # the probe's own failure is the test's answer, not a thread's traceback
            outcome[0] = f"probe failed: {exc!r}"
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]
