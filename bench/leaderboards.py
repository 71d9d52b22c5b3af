"""Leaderboard benchmark: records N referral events (default 1,000,000) and measures

  (a) recording throughput — the rows (our recording service, vs plain INSERTs; and the bulk COPY
      that loads the million) and the live board updates (`leaderboards.apply_events`, vs the same
      sorted-set writes as raw redis-py ZINCRBY pipelines);
  (b) top-50 and "my rank" reads (`leaderboards.top` / `rank_of`, vs raw ZREVRANGE / ZREVRANK, and
      `redis-benchmark` for the same commands when it is installed), with the SQL query count;
  (c) a full rebuild of the shop's all-time boards from PostgreSQL (`leaderboards.rebuild`, vs a raw
      GROUP BY plus a ZADD pipeline), checked to give the live ranks exactly.

Each line prints ours next to the baseline measured in the same run and the ratio. Run it with
`scripts/bench [--events N]`, which provides PostgreSQL and Redis; this script makes its own database
on that server (dropped at the end) and its own Redis key prefix (deleted at the end).
"""

import argparse
import csv
import io
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import drop_database, make_database, timed  # noqa: E402

KINDS = [("campaign_act", 40), ("joined", 25), ("repeat_order", 20), ("qualified", 10), ("first_order", 5)]


class Ev:
    """What the board code reads from an event, without the ORM's per-instance cost."""

    __slots__ = (
        "pk",
        "shop_id",
        "kind",
        "inviter_id",
        "invitee_id",
        "group_id",
        "series_id",
        "campaign_id",
        "amount",
        "occurred_at",
        "voided_at",
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to record (default 1,000,000)")
    parser.add_argument("--inviters", type=int, default=0, help="members who invite (default events/50)")
    parser.add_argument("--sample", type=int, default=1000, help="events recorded one by one through the service")
    parser.add_argument(
        "--baseline-events",
        type=int,
        default=250_000,
        help="events the raw ZINCRBY baseline writes (its rate is compared; default 250,000)",
    )
    parser.add_argument("--reads", type=int, default=20000, help="top-50 and my-rank reads each")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database and Redis keys")
    return parser.parse_args()


# --- Reporting ------------------------------------------------------------------------------------

ROWS: list[tuple] = []


def rate(count: int, seconds: float) -> str:
    per_second = count / seconds if seconds else float("inf")
    return f"{per_second:,.0f}/s" if per_second >= 100 else f"{per_second:,.1f}/s"


def report(what: str, ours: tuple[int, float], base: tuple[int, float], unit: str = "") -> None:
    """One line: ours and the baseline as rates, and ours / baseline (1.00 = as fast as the baseline)."""
    ratio = (ours[0] / ours[1]) / (base[0] / base[1])
    ROWS.append((what, rate(*ours), rate(*base), f"{ratio:.2f}×", unit))
    print(f"  {what:<52} ours {rate(*ours):>14}   baseline {rate(*base):>14}   ratio {ratio:5.2f}×  {unit}", flush=True)


# --- The run ---------------------------------------------------------------------------------------


@dataclass
class World:
    """The benchmark's shop, its groups and its people; `shared_pool` are the invitees who may appear in
    many events (the others each stand in one first order or qualification)."""

    shop: object
    groups: list
    inviters: list[int]
    shared_pool: list[int]
    unique_pool: list[int]
    names: dict[int, str]


def run(args) -> None:
    from django.db import connection

    from referrals import leaderboards as lb

    n = args.events
    n_inviters = args.inviters or max(50, n // 50)
    rng = random.Random(20250301)
    client = lb.redis_client()
    print(
        f"PostgreSQL {connection.cursor().connection.server_version}, Redis {client.info()['redis_version']}, "
        f"{os.cpu_count()} CPUs; {n:,} events, {n_inviters:,} inviters",
        flush=True,
    )
    world = make_world(n, n_inviters)
    events = make_events(world, n, rng)

    # --- (a) rows: the bulk load of the million, then the recording service one event at a time ---
    print("\n(a) recording", flush=True)
    bench_copy(events)
    bench_service(world, min(args.sample, n))
    bench_board_updates(world, events, client, min(n, args.baseline_events))
    # --- (b) reads -------------------------------------------------------------------------------
    print("\n(b) reads", flush=True)
    bench_reads(world, client, args.reads, rng)
    # --- (c) rebuild -----------------------------------------------------------------------------
    print("\n(c) full rebuild of the shop's all-time boards from PostgreSQL", flush=True)
    bench_rebuild(world, client)


def make_world(n: int, n_inviters: int) -> World:
    """Migrate, then make the shop, 4 series, 20 groups and the members."""
    from django.core.management import call_command

    from accounts.models import User
    from groups.models import Group, GroupSeries
    from shops.models import Shop, ShopSettings

    print("· migrating the benchmark database", flush=True)
    call_command("migrate", verbosity=0)
    shop = Shop.objects.create(name="压测店铺", slug=f"bench-{os.getpid()}")
    ShopSettings.objects.create(shop=shop)
    series = [
        GroupSeries.objects.create(shop=shop, name=f"系列{i}", capacity=200, rotation_threshold=180) for i in range(4)
    ]
    groups = [
        Group.objects.create(
            shop=shop, name=f"群{i}", capacity=200, state="active", series=series[i % 4] if i % 2 == 0 else None
        )
        for i in range(20)
    ]

    # People: inviters (a few invite a lot: Zipf-like), and invitees; first orders and qualifications
    # need an invitee of their own each (the database allows one per invitee).
    weights = dict(KINDS)
    unique_needed = int(n * (weights["qualified"] + weights["first_order"]) / 100) + 1000
    n_users = n_inviters + unique_needed + 5000
    print(f"· creating {n_users:,} members", flush=True)
    User.objects.bulk_create(
        (User(username=f"bench{i}", display_name=f"成员{i}", password="!") for i in range(n_users)), batch_size=10000
    )
    user_ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    inviters, invitees = user_ids[:n_inviters], user_ids[n_inviters:]
    return World(
        shop=shop,
        groups=groups,
        inviters=inviters,
        shared_pool=invitees[unique_needed:],
        unique_pool=invitees,
        names=dict(User.objects.filter(pk__in=inviters).values_list("pk", "display_name")),
    )


def make_events(world: World, n: int, rng: random.Random) -> list[Ev]:
    """N events of the KINDS mix, inviters Zipf-like, over the last 90 days (not stored yet)."""
    from django.utils import timezone

    print(f"· generating {n:,} events", flush=True)
    now = timezone.now()
    kinds = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS], k=n)
    cumulative, total = [], 0.0
    for i in range(len(world.inviters)):
        total += 1 / (i + 1) ** 0.8
        cumulative.append(total)
    who = rng.choices(world.inviters, cum_weights=cumulative, k=n)
    unique_pool = iter(world.unique_pool)
    events = []
    for i in range(n):
        e = Ev()
        e.pk, e.shop_id, e.kind, e.inviter_id = i + 1, world.shop.pk, kinds[i], who[i]
        e.invitee_id = next(unique_pool) if e.kind in ("qualified", "first_order") else rng.choice(world.shared_pool)
        group = world.groups[rng.randrange(20)] if rng.random() < 0.8 else None
        e.group_id, e.series_id = (group.pk, group.series_id) if group else (None, None)
        e.campaign_id = rng.randint(1, 5) if e.kind == "campaign_act" and rng.random() < 0.6 else None
        e.amount = (
            Decimal(rng.randint(990, 50000)) / 100
            if e.kind in ("first_order", "repeat_order", "qualified")
            else Decimal("0.00")
        )
        e.occurred_at = now - timedelta(seconds=rng.randint(0, 90 * 86400))
        e.voided_at = None
        events.append(e)
    return events


def _csv_chunks(events: list[Ev], fields: list):
    """The events as CSV for COPY, 50,000 rows a chunk."""
    for start in range(0, len(events), 50000):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for e in events[start : start + 50000]:
            values = {
                "id": e.pk,
                "shop_id": e.shop_id,
                "kind": e.kind,
                "key": f"bench:{e.pk}",
                "inviter_id": e.inviter_id,
                "invitee_id": e.invitee_id,
                "group_id": e.group_id,
                "series_id": e.series_id,
                "campaign_id": e.campaign_id,
                "amount": e.amount,
                "occurred_at": e.occurred_at.isoformat(),
                "recorded_at": e.occurred_at.isoformat(),
            }
            writer.writerow([_csv_value(f, values) for f in fields])
        buffer.seek(0)
        yield buffer


def bench_copy(events: list[Ev]) -> None:
    """The bulk COPY that loads the event rows (no baseline: it is the load itself)."""
    from django.db import connection

    from referrals.models import ReferralEvent

    n = len(events)
    fields = [f for f in ReferralEvent._meta.concrete_fields]
    columns = [f.column for f in fields]
    chunks = list(_csv_chunks(events, fields))  # made before the clock starts: COPY itself is measured

    def copy_rows():
        with connection.cursor() as cursor:
            for chunk in chunks:
                cursor.copy_expert(
                    f"COPY {ReferralEvent._meta.db_table} ({', '.join(columns)}) "
                    "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                    chunk,
                )
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{ReferralEvent._meta.db_table}', 'id'), %s)", [n])

    _none, copy_seconds = timed(copy_rows)
    chunks.clear()
    print(
        f"  {'bulk COPY of the event rows (the load itself)':<52} {rate(n, copy_seconds):>19}  "
        f"({copy_seconds:.1f} s for {n:,})",
        flush=True,
    )


def bench_service(world: World, sample: int) -> None:
    """The service path: each event its own transaction, insert-first under its key, board update after
    commit; vs plain INSERTs."""
    from django.db import connection, transaction

    from accounts.models import User
    from referrals import services
    from referrals.models import ReferralEvent

    shop, groups = world.shop, world.groups
    people = list(User.objects.filter(pk__in=world.inviters[:200] + world.shared_pool[:200]))
    givers, takers = people[: len(people) // 2], people[len(people) // 2 :]

    def record_through_service():
        for i in range(sample):
            with transaction.atomic():
                services.record_campaign_act(
                    shop_id=shop.pk,
                    campaign_id=9,
                    inviter=givers[i % len(givers)],
                    invitee=takers[i % len(takers)],
                    key=f"svc:{i}",
                    group=groups[i % 20],
                )

    def plain_inserts():
        table = ReferralEvent._meta.db_table
        with connection.cursor() as cursor:
            for i in range(sample):
                cursor.execute(
                    f"INSERT INTO {table} (shop_id, kind, key, inviter_id, invitee_id, group_id, campaign_id, channel, "
                    "amount, ip_address, device_id, occurred_at, recorded_at, void_reason) "
                    "VALUES (%s, 'campaign_act', %s, %s, %s, %s, 9, '', 0, NULL, '', now(), now(), '')",
                    [shop.pk, f"raw:{i}", givers[i % len(givers)].pk, takers[i % len(takers)].pk, groups[i % 20].pk],
                )

    _none, service_seconds = timed(record_through_service)
    _none, insert_seconds = timed(plain_inserts)
    ReferralEvent.objects.filter(key__startswith="raw:").delete()  # baseline rows: never on the boards
    report(
        "record one event (service + board update) vs INSERT",
        (sample, service_seconds),
        (sample, insert_seconds),
        "events",
    )


def bench_board_updates(world: World, events: list[Ev], client, base_n: int) -> None:
    """The live boards for the million: every board each event belongs to, exactly once; vs raw ZINCRBY
    pipelines for the first `base_n` events."""
    from referrals import leaderboards as lb

    n = len(events)
    updates = sum(len(lb.boards_of(e)) for e in events)
    applied, apply_seconds = timed(lb.apply_events, events, names=world.names, batch=1000)
    assert applied == n, (applied, n)
    key_cache: dict = {}

    def baseline_writes():
        pipe = client.pipeline(transaction=False)
        for i, e in enumerate(events[:base_n]):
            plan = (e.kind, e.group_id, e.series_id, e.campaign_id, e.occurred_at.date())
            keys = key_cache.get(plan)
            if keys is None:
                keys = key_cache[plan] = [b.key + ":base" for b in lb.boards_of(e)]  # the baseline's own keys
            value = int(e.amount * 100) if e.kind in ("first_order", "repeat_order") else 1
            for key in keys:
                pipe.zincrby(key, value, e.inviter_id)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()

    _none, base_seconds = timed(baseline_writes)
    report(
        f"live board updates ({updates / n:.1f} boards per event)", (n, apply_seconds), (base_n, base_seconds), "events"
    )
    print(
        f"  {'':<52} ours {apply_seconds:.1f} s for all {n:,} events ({updates:,} sorted-set writes); "
        f"baseline {base_seconds:.1f} s for the first {base_n:,}"
    )
    again, _seconds = timed(lb.apply_events, events[:10000], names=world.names)
    print(f"  replaying 10,000 applied events counted {again} of them again (exactly once)")


def bench_reads(world: World, client, reads: int, rng: random.Random) -> None:
    """Top 50 and "my rank" on the campaign-acts board, with the SQL query count (none expected); vs the
    raw commands, and redis-benchmark's ceiling."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from referrals import leaderboards as lb

    board = lb.Board.of(shop_id=world.shop.pk, metric=lb.Metric.CAMPAIGN_ACTS)
    base_key = board.key + ":base"
    size = lb.size(board)
    probe = rng.sample(world.inviters[: min(len(world.inviters), size)], min(1000, size))
    print(f"  board: {lb.describe(board)}, {size:,} members", flush=True)
    with CaptureQueriesContext(connection) as queries:
        _none, top_seconds = timed(lambda: [lb.top(board) for _ in range(reads)])
        _none, rank_seconds = timed(lambda: [lb.rank_of(board, probe[i % len(probe)]) for i in range(reads)])
    _none, base_top = timed(lambda: [client.zrevrange(base_key, 0, 49, withscores=True) for _ in range(reads)])
    _none, base_rank = timed(lambda: [client.zrevrank(base_key, probe[i % len(probe)]) for i in range(reads)])
    report("top 50 (with names) vs ZREVRANGE 0 49", (reads, top_seconds), (reads, base_top), "reads, 1 client")
    report("my rank vs ZREVRANK", (reads, rank_seconds), (reads, base_rank), "reads, 1 client")
    print(f"  SQL queries during {2 * reads:,} board reads: {len(queries)}")
    redis_benchmark(client, base_key, probe[0], reads)


def bench_rebuild(world: World, client) -> None:
    """A full rebuild of the shop's all-time boards, checked to give the live ranks exactly; vs a raw
    GROUP BY plus a ZADD pipeline."""
    counted, rebuild_seconds, base_rebuild_seconds, identical = measure_rebuild(world, client)
    report(
        "rebuild 4 boards (events per second)",
        (counted, rebuild_seconds),
        (counted, base_rebuild_seconds),
        f"events; ours {rebuild_seconds:.1f} s, baseline {base_rebuild_seconds:.1f} s",
    )
    print(f"  rebuilt ranks identical to the live ones: {'yes' if identical else 'NO'}")
    if not identical:
        raise SystemExit("rebuild differs from the live boards")


def measure_rebuild(world: World, client) -> tuple[int, float, float, bool]:
    """(events counted on the 4 all-time boards, seconds of `leaderboards.rebuild` for them, seconds of the
    raw GROUP BY + ZADD baseline, whether the rebuilt ranks equal the live ones). Also used by P7."""
    from django.db import connection

    from referrals import leaderboards as lb
    from referrals.models import ReferralEvent

    shop = world.shop
    base_prefix = f"{lb.keys.prefix()}:baseline"  # the baseline's own keys
    boards = [lb.Board.of(shop_id=shop.pk, metric=m) for m, _label in lb.Metric.choices]
    live = {b: (lb.top(b, 1000), lb.size(b)) for b in boards}
    _none, rebuild_seconds = timed(lambda: [lb.rebuild(b) for b in boards])
    identical = all((lb.top(b, 1000), lb.size(b)) == live[b] for b in boards)

    def baseline_rebuild():
        table = ReferralEvent._meta.db_table
        for b in boards:
            kinds = list(lb.METRIC_KINDS[b.metric])
            value, positive = ("SUM(amount)", "AND amount > 0") if b.is_money else ("COUNT(*)", "")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT inviter_id, {value}, MAX(occurred_at) FROM {table} WHERE shop_id = %s "
                    f"AND kind = ANY(%s) AND voided_at IS NULL {positive} GROUP BY inviter_id",
                    [shop.pk, kinds],
                )
                rows = cursor.fetchall()
            key = f"{base_prefix}:rebuild:{b.metric}"
            pipe = client.pipeline(transaction=False)
            pipe.delete(key)
            for start in range(0, len(rows), 5000):
                pipe.zadd(key, {str(r[0]): float(r[1]) for r in rows[start : start + 5000]})
            pipe.execute()

    _none, base_rebuild_seconds = timed(baseline_rebuild)
    counted = sum(b.events().count() for b in boards)
    return counted, rebuild_seconds, base_rebuild_seconds, identical


def _csv_value(field, values: dict):
    if field.attname in values:
        value = values[field.attname]
    elif field.null:
        value = None
    elif field.has_default():
        value = field.get_default()
    else:
        value = ""
    return "\\N" if value is None else value


def redis_benchmark(client, key: str, member, reads: int) -> None:
    """The same commands through redis-benchmark (50 parallel clients): the server's own ceiling."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        print("  (redis-benchmark not installed: skipped)")
        return
    options = client.connection_pool.connection_kwargs
    common = [
        binary,
        "-h",
        str(options.get("host", "127.0.0.1")),
        "-p",
        str(options.get("port", 6379)),
        "-n",
        str(reads),
        "-q",
    ]
    if options.get("db"):
        common += ["--dbnum", str(options["db"])]
    if options.get("password"):
        common += ["-a", options["password"], "--no-auth-warning"]
    for label, command in [
        ("ZREVRANGE 0 49 WITHSCORES", ["ZREVRANGE", key, "0", "49", "WITHSCORES"]),
        ("ZREVRANK", ["ZREVRANK", key, str(member)]),
    ]:
        result = subprocess.run(common + command, capture_output=True, text=True, timeout=300)
        found = re.search(r"([\d.]+) requests per second", result.stdout)
        rps = f"{float(found.group(1)):,.0f}/s" if found else "?"
        print(f"  redis-benchmark {label:<36} {rps:>14}   (raw command, 50 parallel clients: the server's ceiling)")


def main() -> None:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("bench needs DATABASE_URL (PostgreSQL) and REDIS_URL: run it with scripts/bench")
    name, url = make_database(base_url, "leaderboards")
    os.environ["DATABASE_URL"] = url
    os.environ["CACHE_KEY_PREFIX"] = f"shequnbench{os.getpid()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.db import connections

    from referrals import leaderboards as lb

    started = time.perf_counter()
    try:
        run(args)
    finally:
        if not args.keep:
            client = lb.redis_client()
            for batch in _batched(client.scan_iter(match=f"{os.environ['CACHE_KEY_PREFIX']}:*", count=1000), 1000):
                client.unlink(*batch)
            connections.close_all()
            drop_database(base_url, name)
        else:
            print(f"kept database {name} and Redis keys {os.environ['CACHE_KEY_PREFIX']}:*")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


if __name__ == "__main__":
    main()
