"""P1 — a trivial page through the full middleware stack, against a bare Django hello on the same workers.

Pages: /robots.txt (a template, no query), the home page signed out, /healthz (database, Redis, worker
heartbeat, outboxes). Baseline: /_bench/hello through Django with no middleware (bench/bench_wsgi.py).
Each round runs the baseline and then each page for --seconds with wrk; the median of --rounds is reported.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import Measure  # noqa: E402
from _web import Bench, web_options  # noqa: E402

ID = "P1"
TITLE = "a trivial page through the full middleware stack vs bare Django hello"
TARGET = 0.65


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P1", description=__doc__))
    args = parser.parse_args(argv)
    if args.pgbouncer:
        parser.error("P1 has no --pgbouncer run yet (P3, P4 and P6 have)")
    bench = Bench("p1", args)
    try:
        measures = measure(bench, web=1)
        if args.scale:
            measures += scaled(bench, measures)
        return measures
    finally:
        bench.close()


def pages():
    return {"/robots.txt": "robots.txt", "/": "home page (signed out)", "/healthz": "/healthz"}


def measure(bench: Bench, web: int) -> list[Measure]:
    suffix = "" if web == 1 else f" ×{web} processes"
    with bench.serving(web=web, celery=web):
        bench.heartbeat()
        bench.warm([("/_bench/hello", "")] + [(path, "") for path in pages()])
        runs = {"hello": lambda _round: bench.get_rate([("/_bench/hello", "")])}
        runs |= {path: (lambda _round, p=path: bench.get_rate([(p, "")])) for path in pages()}
        medians = bench.rounds(runs)
    return [
        Measure(
            id=ID,
            name=f"{label} through the full middleware{suffix}",
            figure=medians[path],
            baseline=medians["hello"],
            unit="req/s",
            baseline_name=f"bare Django hello{suffix}",
            target=TARGET,
        )
        for path, label in pages().items()
    ]


def scaled(bench: Bench, single: list[Measure]) -> list[Measure]:
    """Two gunicorn processes and two Celery workers; each figure as a ratio to one of each."""
    double = measure(bench, web=2)
    return [
        Measure(
            id=ID,
            name=f"scale-out: {two.name}",
            figure=two.figure,
            baseline=one.figure,
            unit="req/s",
            baseline_name="the same on one process and one worker",
            target=1.0,
            notes=f"baseline ratio {two.baseline / one.baseline:.2f} (hello ×2 vs ×1)",
        )
        for one, two in zip(single, double, strict=True)
    ]


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
