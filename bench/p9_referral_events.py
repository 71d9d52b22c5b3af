"""P9 — recording a referral event with its leaderboard update, one event per transaction.

Measured in one run against a real PostgreSQL and Redis:

  ours      `referrals.services.record_campaign_act` called with no transaction open, as the baseline's
            INSERT autocommits (the event inserted under its unique key with the staff check in the same
            statement, the `referral_event_recorded` hook) and, once that statement has committed, the live
            board update (`leaderboards.apply_event`: exactly-once bit, tie-break, every board of the event
            in one Lua call) — what a campaign act adds to the request that records it, whose own
            transaction pays its BEGIN/COMMIT once for all its work;
  baseline  a plain single-row INSERT of the same event (autocommit) and one ZINCRBY of its inviter.

The notes also give ours with each event in a transaction of its own (BEGIN, the INSERT, COMMIT, then
the Lua call: two round trips more than the baseline's), for comparison with earlier runs.

Target (issue 19): ours ≥ 0.5× the baseline's rate. Invariants: every event recorded once (rows = events),
and the board's scores equal the rows (each inviter's campaign acts counted from PostgreSQL).

    scripts/bench p9_referral_events [--events N] [--inviters N] [--profile] [--keep]

--profile prints cProfile's top functions for the events recorded through the service. The script makes
its own database (dropped at the end unless --keep) and its own Redis key prefix (deleted at the end).
"""

import argparse
import cProfile
import io
import os
import pstats
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
    parser.add_argument("--events", type=int, default=5000, help="events recorded each way (default 5,000)")
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


def ours(shop, groups, givers, takers, n: int, profile: bool, *, first: int = 0, own_transaction: bool = False):
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


def baseline(shop, groups, givers, takers, n: int) -> float:
    from django.db import connection

    from referrals import leaderboards as lb
    from referrals.models import ReferralEvent

    table = ReferralEvent._meta.db_table
    client = lb.redis_client()
    key = f"{lb.keys.prefix()}:p9-baseline"

    def plain():
        with connection.cursor() as cursor:
            for i in range(n):
                giver = givers[i % len(givers)].pk
                cursor.execute(
                    f"INSERT INTO {table} (shop_id, kind, key, inviter_id, invitee_id, group_id, campaign_id, channel, "
                    "amount, ip_address, device_id, occurred_at, recorded_at, void_reason) "
                    "VALUES (%s, 'campaign_act', %s, %s, %s, %s, 7, '', 0, NULL, '', now(), now(), '')",
                    [shop.pk, f"raw:{i}", giver, takers[(i * 7) % len(takers)].pk, groups[i % len(groups)].pk],
                )
                client.zincrby(key, 1, giver)

    _none, seconds = timed(plain)
    ReferralEvent.objects.filter(key__startswith="raw:").delete()  # baseline rows: never on the boards
    client.delete(key)
    return seconds


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
        ours_seconds = ours(shop, groups, givers, takers, args.events, args.profile)
        own_seconds = ours(shop, groups, givers, takers, args.events, False, first=args.events, own_transaction=True)
        checks = invariants(shop, 2 * args.events)
        base_seconds = baseline(shop, groups, givers, takers, args.events)
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
    notes = (
        f"{args.events:,} events: ours {ours_seconds:.2f} s, plain INSERT + ZINCRBY {base_seconds:.2f} s; "
        f"ours with a transaction per event {own_seconds:.2f} s ({args.events / own_seconds:,.0f} events/s); "
        f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(notes, flush=True)
    return [
        Measure(
            id=ID,
            name="record a referral event + board update",
            figure=args.events / ours_seconds,
            baseline=args.events / base_seconds,
            unit="events/s",
            baseline_name="plain INSERT + ZINCRBY",
            target=0.5,
            invariants=checks,
            notes=notes,
        )
    ]


if __name__ == "__main__":
    print_measures(run(sys.argv[1:]))
