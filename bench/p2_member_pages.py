"""P2 — signed-in member pages against a one-row SELECT view on the same workers.

Pages, each GET by --members members in turn (each with their own session, made in the session store
before the run): the member group page, a product page of the group's shop, my orders (each member with
1–5 orders). Baseline: /_bench/select/<id>, one SELECT by primary key through Django with no middleware.
Also counts each page's SQL queries for a member with 1 order and one with 5: a page whose count differs
breaks the invariant "constant queries".
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, query_count, web_options  # noqa: E402

ID = "P2"
TITLE = "member group page, product page, my orders (signed in) vs one-row SELECT view"
TARGET = 0.35


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P2", description=__doc__))
    parser.add_argument("--members", type=int, default=50, help="signed-in members the requests rotate over")
    args = parser.parse_args(argv)
    if args.pgbouncer:
        parser.error("P2 has no --pgbouncer run yet (P3, P4 and P6 have)")
    bench = Bench("p2", args)
    try:
        world = seed(args.members)
        sessions = bench.sessions(world["members"])
        pages = {
            "member group page": f"/m/groups/{world['group'].pk}/",
            "product page": f"/m/groups/{world['group'].pk}/shop/{world['product'].pk}/",
            "my orders": "/m/orders/",
        }
        counts = {name: count_queries(path, sessions) for name, path in pages.items()}
        measures = measure(bench, pages, sessions, counts, web=1)
        if args.scale:
            double = measure(bench, pages, sessions, counts, web=2)
            measures += [scale_measure(one, two) for one, two in zip(measures, double, strict=True)]
        return measures
    finally:
        bench.close()


def seed(n: int) -> dict:
    shop = _seed.shop()
    group = _seed.group(shop, capacity=n + 10)
    product, sku = _seed.product(shop, stock=10**6)
    people = _seed.members(n, "p2m")
    _seed.add_members(group, people)
    for i, member in enumerate(people):
        for _ in range(1 + i % 5):
            _seed.order(member, group, sku)
    return {"shop": shop, "group": group, "product": product, "sku": sku, "members": people}


def count_queries(path: str, sessions: list[str]) -> tuple[int, int, int]:
    """(queries for the member with 1 order, queries for the one with 5, status)."""
    status_one, one = query_count(path, sessions[0])
    _status_five, five = query_count(path, sessions[4])
    return one, five, status_one


def measure(bench: Bench, pages: dict, sessions: list[str], counts: dict, web: int) -> list[Measure]:
    from _seed import session_cookie

    suffix = "" if web == 1 else f" ×{web} processes"
    with bench.serving(web=web, celery=web):
        rows = {name: [(path, session_cookie(key)) for key in sessions] for name, path in pages.items()}
        baseline = [(f"/_bench/select/{1 + i % 1000}", "") for i in range(1000)]
        bench.warm(baseline + [row for page in rows.values() for row in page])
        runs = {name: (lambda _round, r=r: bench.get_rate(r)) for name, r in rows.items()}
        runs["one-row SELECT"] = lambda _round: bench.get_rate(baseline)
        medians = bench.rounds(runs)
    return [
        Measure(
            id=ID,
            name=f"{name}{suffix}",
            figure=medians[name],
            baseline=medians["one-row SELECT"],
            unit="req/s",
            baseline_name=f"one-row SELECT view{suffix}",
            target=TARGET,
            invariants={
                "answers 200": counts[name][2] == 200,
                "constant queries": counts[name][0] == counts[name][1],
            },
            notes=f"{counts[name][0]} queries (member with 1 order), {counts[name][1]} (with 5)",
        )
        for name in pages
    ]


def scale_measure(one: Measure, two: Measure) -> Measure:
    return Measure(
        id=ID,
        name=f"scale-out: {one.name}",
        figure=two.figure,
        baseline=one.figure,
        unit="req/s",
        baseline_name="the same on one process and one worker",
        target=1.0,
        invariants=two.invariants,
        notes=f"baseline ratio {two.baseline / one.baseline:.2f} (one-row SELECT ×2 vs ×1)",
    )


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
