"""P9 — recording a referral event with its leaderboard update, one event per transaction.

Measured in one run against a real PostgreSQL and Redis:

  ours      `referrals.services.record_campaign_act` called with no transaction open, as the baseline's
            INSERT autocommits (the event inserted under its unique key with the staff check in the same
            statement, prepared once per connection by `shequn.prepared`; the `referral_event_recorded`
            hook) and, once that statement has committed, the live
            board update (`leaderboards.apply_event`: exactly-once bit, tie-break, every board of the event
            in one Lua call) — what a campaign act adds to the request that records it, whose own
            transaction pays its BEGIN/COMMIT once for all its work;
  baseline  a plain single-row INSERT of the same event (autocommit) and one ZINCRBY of its inviter.

The notes also give ours with each event in a transaction of its own (BEGIN, the INSERT, COMMIT, then
the Lua call: two round trips more than the baseline's), for comparison with earlier runs.

How (the issue's method: each pair back to back, median of 3): a warm-up of each way first, not timed
(connections, the Lua script loaded, the table's first pages), then `--rounds` rounds of ours followed by
the baseline over `--events` / `--rounds` events each; the figure and the baseline are the medians of the
rounds' rates. Run first and cold, ours used to pay the warm-up alone.

Target (issue 19): ours ≥ 0.5× the baseline's rate. Invariants: every event recorded once (rows = events),
and the board's scores equal the rows (each inviter's campaign acts counted from PostgreSQL).

    scripts/bench p9_referral_events [--events N] [--rounds N] [--warm-up N] [--inviters N] [--profile] [--keep]

--profile prints cProfile's top functions for a pass of its own through the service, after the timed
rounds (the profiler's overhead never reaches a measured figure). The script makes
its own database (dropped at the end unless --keep) and its own Redis key prefix (deleted at the end).
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import Measure, drop_database, make_database, print_measures, timed  # noqa: E402

ID = "P9"
TITLE = "recording a referral event (with the board update)"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000, help="events recorded each way (default 6,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of ours then baseline (default 3; median)")
    parser.add_argument("--warm-up", type=int, default=300, help="events each way first, not timed (default 300)")
    parser.add_argument("--inviters", type=int, default=100, help="members who invite (default 100)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's summary of the service path")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database and Redis keys")
    return parser.parse_args(argv)


def world(inviters: int):
    from accounts.models import User
    from groups.models import Group
    from shops.models import Shop, ShopSettings

    shop = Shop.objects.create(name="基准店", slug=f"bench-p9-{os.getpid()}")
    ShopSettings.objects.create(shop=shop)
    groups = [Group.objects.create(shop=shop, name=f"群{i}", capacity=350, state="active") for i in range(10)]
    people = User.objects.bulk_create(
        [User(username=f"p9-{i}", display_name=f"成员{i}", password="!") for i in range(inviters * 2)]
    )
    return shop, groups, people[:inviters], people[inviters:]


def ours(shop, groups, givers, takers, n: int, profile: bool = False, *, first: int = 0, own_transaction: bool = False):
    from contextlib import nullcontext

    from django.db import transaction

    from referrals import services

    def record():
        for i in range(first, first + n):
            with transaction.atomic() if own_transaction else nullcontext():
                services.record_campaign_act(
                    shop_id=shop.pk,
                    campaign_id=7,
                    inviter=givers[i % len(givers)],
                    invitee=takers[(i * 7) % len(takers)],
                    key=f"svc:{i}",
                    group=groups[i % len(groups)],
                )

    if not profile:
        return timed(record)[1]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(record)
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    print(out.getvalue(), flush=True)
    return seconds


def baseline(shop, groups, givers, takers, n: int, *, first: int = 0) -> float:
    from django.db import connection

    from referrals import leaderboards as lb
    from referrals.models import ReferralEvent

    table = ReferralEvent._meta.db_table
    client = lb.redis_client()
    key = f"{lb.keys.prefix()}:p9-baseline"

    def plain():
        with connection.cursor() as cursor:
            for i in range(first, first + n):
                giver = givers[i % len(givers)].pk
                cursor.execute(
                    f"INSERT INTO {table} (shop_id, kind, key, inviter_id, invitee_id, group_id, campaign_id, channel, "
                    "amount, ip_address, device_id, occurred_at, recorded_at, void_reason) "
                    "VALUES (%s, 'campaign_act', %s, %s, %s, %s, 7, '', 0, NULL, '', now(), now(), '')",
                    [shop.pk, f"raw:{i}", giver, takers[(i * 7) % len(takers)].pk, groups[i % len(groups)].pk],
                )
                client.zincrby(key, 1, giver)

    return timed(plain)[1]


def forget_baseline():
    """The baseline's rows and sorted set: never on the boards, so gone before the invariants are read."""
    from referrals import leaderboards as lb
    from referrals.models import ReferralEvent

    ReferralEvent.objects.filter(key__startswith="raw:").delete()
    lb.redis_client().delete(f"{lb.keys.prefix()}:p9-baseline")


def measured_rounds(shop, groups, givers, takers, args) -> tuple[list[float], list[float], int]:
    """Ours and the baseline back to back, `--rounds` times over `--events` each way, after a warm-up of
    both (connections, the Lua script, the table's pages): the seconds of each round each way, and the
    number of events ours recorded (warm-up included)."""
    world_ = (shop, groups, givers, takers)
    ours(*world_, args.warm_up, first=0)
    baseline(*world_, args.warm_up, first=0)
    per_round = max(1, args.events // args.rounds)
    ours_times, base_times = [], []
    for r in range(args.rounds):
        first = args.warm_up + r * per_round
        ours_times.append(ours(*world_, per_round, first=first))
        base_times.append(baseline(*world_, per_round, first=first))
    return ours_times, base_times, args.warm_up + args.rounds * per_round


def invariants(shop, n: int) -> dict[str, bool]:
    from django.db.models import Count

    from referrals import leaderboards as lb
    from referrals.models import ReferralEvent

    rows = dict(
        ReferralEvent.objects.filter(shop=shop, kind="campaign_act")
        .values("inviter_id")
        .annotate(n=Count("pk"))
        .values_list("inviter_id", "n")
    )
    board = lb.Board.of(shop_id=shop.pk, metric=lb.Metric.CAMPAIGN_ACTS)
    scores = {e.user_id: e.value for e in lb.top(board, 10_000)}
    return {
        "every event recorded once": sum(rows.values()) == n,
        "board scores equal the rows": scores == rows,
    }


def run(argv) -> list[Measure]:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("P9 needs DATABASE_URL (PostgreSQL) and REDIS_URL: run it with scripts/bench")
    name, url = make_database(base_url, "p9")
    os.environ["DATABASE_URL"] = url
    os.environ["CACHE_KEY_PREFIX"] = prefix = f"shequnbenchp9{os.getpid()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from referrals import leaderboards as lb

    try:
        call_command("migrate", verbosity=0)
        shop, groups, givers, takers = world(args.inviters)
        ours_times, base_times, recorded = measured_rounds(shop, groups, givers, takers, args)
        per_round = args.events // args.rounds
        own_seconds = ours(shop, groups, givers, takers, per_round, first=recorded, own_transaction=True)
        recorded += per_round
        if args.profile:  # a pass of its own: cProfile's overhead never reaches a timed round
            ours(shop, groups, givers, takers, per_round, True, first=recorded)
            recorded += per_round
        forget_baseline()
        checks = invariants(shop, recorded)
    finally:
        connections.close_all()
        if not args.keep:
            client = lb.redis_client()
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            for start in range(0, len(keys), 1000):
                client.unlink(*keys[start : start + 1000])
            drop_database(base_url, name)
        else:
            print(f"kept database {name} and Redis keys {prefix}:*")
    ours_rates = [per_round / t for t in ours_times]
    base_rates = [per_round / t for t in base_times]
    ratios = ", ".join(f"{o / b:.3f}" for o, b in zip(ours_rates, base_rates, strict=True))
    notes = (
        f"{args.rounds} rounds of {per_round:,} events each way after {args.warm_up} of each not timed; "
        f"round ratios {ratios}; ours with a transaction per event {per_round / own_seconds:,.0f} events/s; "
        f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(notes, flush=True)
    return [
        Measure(
            id=ID,
            name="record a referral event + board update",
            figure=statistics.median(ours_rates),
            baseline=statistics.median(base_rates),
            unit="events/s",
            baseline_name="plain INSERT + ZINCRBY",
            target=0.5,
            invariants=checks,
            notes=notes,
        )
    ]


if __name__ == "__main__":
    print_measures(run(sys.argv[1:]))
