"""P7 — leaderboard reads against a bare Django hello, with zero SQL on the board reads; and the
rebuild of the shop's all-time boards from PostgreSQL against a raw GROUP BY + ZADD of the same members.

Set-up (bench/leaderboards.py's world, sized by --events, default 100,000; the issue's figure is at
1,000,000): one shop, 20 groups, Zipf-distributed inviters, the events loaded with COPY and applied to the
live boards. Then:
- the members' leaderboard page (/m/leaderboard/: top 50 and my rank) fetched by --members signed-in
  members with wrk, each round next to /_bench/hello;
- `leaderboards.top` (top 50) and `rank_of` called --reads times each in this process, with every SQL
  query counted (invariant: none);
- `leaderboards.rebuild` of the four all-time boards (target: at most 20× the raw baseline, i.e. a rate
  ratio ≥ 0.05), checked identical to the live ranks (invariant).
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, query_count, scale_measures, web_options  # noqa: E402

ID = "P7"
TITLE = "leaderboard top-50 and my-rank reads (zero SQL) vs bare hello; board rebuild vs raw ZADD"


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P7", description=__doc__))
    parser.add_argument("--events", type=int, default=100_000, help="referral events (default 100,000)")
    parser.add_argument("--members", type=int, default=50, help="signed-in members fetching the page")
    parser.add_argument("--reads", type=int, default=5000, help="in-process top-50 and my-rank reads each")
    args = parser.parse_args(argv)
    if args.pgbouncer:
        parser.error("P7 has no --pgbouncer run yet (P3, P4 and P6 have)")
    bench = Bench("p7", args)
    try:
        import leaderboards

        from referrals import leaderboards as lb

        rng = random.Random(20250301)
        world = leaderboards.make_world(args.events, max(50, args.events // 50))
        events = leaderboards.make_events(world, args.events, rng)
        leaderboards.bench_copy(events)
        lb.apply_events(events, names=world.names, batch=1000)
        del events
        from accounts.models import User

        viewers = list(User.objects.filter(pk__in=world.inviters[: args.members]))
        _seed.add_members(world.groups[0], viewers)
        sessions = bench.sessions(viewers)
        measures = [reads(world, args.reads)]
        page = page_measure(bench, sessions, web=1)
        measures.append(page)
        if args.scale:
            measures += scale_measures([page], [page_measure(bench, sessions, web=2)])
        measures.append(rebuild(world, lb.redis_client()))
        return measures
    finally:
        bench.close()


def reads(world, n: int) -> Measure:
    """top 50 + my rank in this process (one client), SQL counted; vs the bare hello is not meaningful
    here, so the baseline is the raw ZREVRANGE + ZREVRANK pair on the same board."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from referrals import leaderboards as lb

    board = lb.Board.of(shop_id=world.shop.pk, metric=lb.Metric.CAMPAIGN_ACTS)
    client = lb.redis_client()
    probe = world.inviters[:1000]
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        for i in range(n):
            lb.top(board)
            lb.rank_of(board, probe[i % len(probe)])
        ours = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(n):
        client.zrevrange(board.key, 0, 49, withscores=True)
        client.zrevrank(board.key, probe[i % len(probe)])
    raw = time.perf_counter() - start
    return Measure(
        id=ID,
        name="top 50 + my rank, in process",
        figure=n / ours,
        baseline=n / raw,
        unit="pairs/s",
        baseline_name="raw ZREVRANGE 0 49 + ZREVRANK, one client",
        target=0.5,
        invariants={"zero SQL on board reads": len(queries) == 0},
        notes=f"{len(queries)} SQL queries in {2 * n:,} reads",
    )


def page_measure(bench: Bench, sessions: list[str], web: int) -> Measure:
    suffix = "" if web == 1 else f" ×{web} processes"
    status, queries = query_count("/m/leaderboard/", sessions[0])
    rows = [("/m/leaderboard/", _seed.session_cookie(key)) for key in sessions]
    with bench.serving(web=web, celery=web):
        bench.warm(rows + [("/_bench/hello", "")])
        medians = bench.rounds(
            {
                "leaderboard page": lambda _r: bench.get_rate(rows),
                "hello": lambda _r: bench.get_rate([("/_bench/hello", "")]),
            }
        )
    return Measure(
        id=ID,
        name=f"leaderboard page (top 50 + my rank){suffix}",
        figure=medians["leaderboard page"],
        baseline=medians["hello"],
        unit="req/s",
        baseline_name=f"bare Django hello{suffix}",
        target=0.5,
        invariants={"answers 200": status == 200},
        notes=f"{queries} SQL queries on the page (session, user, memberships; none for the board)",
    )


def rebuild(world, client) -> Measure:
    from leaderboards import measure_rebuild

    counted, ours, raw, identical = measure_rebuild(world, client)
    return Measure(
        id=ID,
        name=f"rebuild of the 4 all-time boards ({counted:,} events)",
        figure=counted / ours,
        baseline=counted / raw,
        unit="events/s",
        baseline_name="raw GROUP BY + ZADD pipeline",
        target=1 / 20,
        invariants={"rebuilt ranks identical to the live ones": identical},
        notes=f"ours {ours:.2f} s, raw {raw:.2f} s ({ours / raw:.1f}×)",
    )


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
