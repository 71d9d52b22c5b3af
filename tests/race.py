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


class Held:
    """Runs fn() in a transaction on another connection and keeps that transaction open (its locks held)
    until `release()`: `with Held(fn) as held:` … `held.result` once released (fn's value or exception)."""

    def __init__(self, fn: Callable[[], object], timeout: float = 30):
        self._fn, self._timeout = fn, timeout
        self._ready, self._release = threading.Event(), threading.Event()
        self.result: object = None
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                self.result = self._fn()
                self._ready.set()
                self._release.wait(self._timeout)
        except Exception as exc:  # the holder's outcome is the test's data
            self.result = exc
        finally:
            self._ready.set()
            connections.close_all()

    def __enter__(self) -> "Held":
        self._thread.start()
        assert self._ready.wait(self._timeout), "the holder never got going"
        if isinstance(self.result, Exception):
            raise self.result
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(self._timeout)

    def __exit__(self, *exc) -> None:
        self.release()


class Started:
    """fn() running on its own connection in another thread (see `finishes_within`)."""

    def __init__(self, fn: Callable[[], object]):
        self.result: object = None
        self._thread = threading.Thread(target=self._run, args=(fn,))
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self.result = fn()
        except Exception as exc:  # the outcome is the test's data
            self.result = exc
        finally:
            connections.close_all()

    def wait(self, seconds: float = 30) -> bool:
        """Whether fn() has finished, waiting at most `seconds`."""
        self._thread.join(seconds)
        return not self._thread.is_alive()


def finishes_within(seconds: float, fn: Callable[[], object]) -> Started:
    """Start fn() on its own connection and wait up to `seconds`: `.wait(0)` says whether it finished,
    `.result` is its value or exception. A late one goes on; `.wait()` again once what blocks it is gone."""
    started = Started(fn)
    started.wait(seconds)
    return started
