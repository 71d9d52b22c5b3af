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
