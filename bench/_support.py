"""What every benchmark in bench/ shares: a throwaway database on the server under test, and a timer.

Imported by the benchmark scripts (scripts/bench runs them with bench/ first on sys.path); not a
benchmark itself.
"""

import os
import time
from urllib.parse import urlsplit, urlunsplit


def _admin(url: str):
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    admin.autocommit = True
    return admin


def make_database(url: str, label: str) -> tuple[str, str]:
    """A new database named after `label` on the server of `url`; returns its name and URL."""
    name = f"shequn_bench_{label}_{os.getpid()}"
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name, urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str, name: str) -> None:
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def timed(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` and the seconds it took."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# --- The shape every P-scenario reports in (scripts/bench prints these and writes them as JSON) ---

from dataclasses import asdict, dataclass, field  # noqa: E402


@dataclass
class Measure:
    """One figure of a scenario, next to the baseline measured in the same run.

    Both figures are rates (higher is faster), so `ratio = figure / baseline` reads "how close to the
    baseline" and the target is the least ratio that passes. A target on times ("at most 3× a bulk
    INSERT") is written as the inverse rate ratio (≥ 1/3). Timings never fail a run; only a broken
    invariant does (`invariants` maps each checked rule to whether it held).
    """

    id: str  # "P4"
    name: str  # what was measured, e.g. "orders on one hot SKU"
    figure: float  # the product's rate
    baseline: float  # the baseline's rate, measured in the same run
    unit: str  # "req/s", "rows/s", …
    baseline_name: str  # e.g. "pgbench single-hot-row conditional UPDATE"
    target: float  # least passing ratio
    invariants: dict[str, bool] = field(default_factory=dict)
    notes: str = ""

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else 0.0

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio >= self.target else "BELOW"

    @property
    def invariants_held(self) -> bool:
        return all(self.invariants.values())

    def as_json(self) -> dict:
        return asdict(self) | {"ratio": self.ratio, "verdict": self.verdict}


def print_measures(measures: list[Measure]) -> None:
    """The table every scenario prints: figure, baseline, ratio, target, PASS/BELOW and the invariants."""
    for m in measures:
        broken = [rule for rule, held in m.invariants.items() if not held]
        checks = "invariants held" if not broken else "BROKEN: " + ", ".join(broken)
        print(
            f"{m.id:<4} {m.name:<44} {m.figure:>12,.1f} {m.unit:<7} vs {m.baseline:>12,.1f} ({m.baseline_name})"
            f"  ratio {m.ratio:6.3f}  target ≥ {m.target:g}  {m.verdict:<5}  {checks}",
            flush=True,
        )
