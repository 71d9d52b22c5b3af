"""Analytics fact build benchmark: a shop with N paid orders (default 1,000,000) from M members (200,000)
over 90 days, each member in one of 20 groups, with a join and an activity row per order.

Measures, in one run against a real PostgreSQL, each next to a plain aggregate over the same rows:

  build        analytics.facts.rebuild_shop over the whole history (three fact tables, every measure, then
               the repeat and cohort summaries from scratch)
               vs one GROUP BY day × group per source table (orders, memberships, activity);
  incremental  the periodic job (analytics.facts.refresh) the day after: a day's new orders, joins and
               activity, found through the watermark and rebuilt, the summaries updated by difference
               — vs the same GROUP BYs over that day;
  pages        each analytics page rendered (the operator's HTML, last 30 days, median of 3)
               vs a plain GROUP BY group over the orders of those 30 days.

Prints the times and each ratio (ours ÷ baseline time). Run with `scripts/bench analytics [--orders N]
[--members M]`; the script makes its own database on that server (dropped at the end unless --keep).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import drop_database, make_database, timed  # noqa: E402

DAYS = 90
GROUPS = 20
PAGES = ["analytics_funnel", "analytics_repeat", "analytics_cohorts", "analytics_campaigns", "analytics_groups"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="paid orders (default 1,000,000)")
    parser.add_argument("--members", type=int, default=200_000, help="members (default 200,000)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def _copy_rows(cursor, model, template_pk: int, overrides: dict[str, str], source: str, where: str = "true") -> None:
    """INSERT a copy of the template row for each row of `source` (a FROM item), every column taken from the
    template unless overridden by an SQL expression: many valid rows without listing every column."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = [overrides.get(c, f"t.{c}") for c in columns]
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {model._meta.db_table} t, {source} WHERE t.id = {template_pk} AND ({where})"
    )


def seed(orders: int, members: int, *, day_offset: float = 0.0, days: float = DAYS, shop=None, state=None):
    """The shop (made on the first call), `members` new members and `orders` paid orders over `days` days
    ending `day_offset` days from now; returns (shop, state) for the next call."""
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from groups.models import Group, MemberActivity, Membership, MembershipStatus
    from orders.models import Order, OrderLine, Product, Sku
    from shops.models import Operator, OperatorRole, Shop, ShopSettings

    now = timezone.now() + timedelta(days=day_offset)
    start = now - timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        if shop is None:
            shop = Shop.objects.create(name="压测店", slug="bench")
            ShopSettings.objects.create(shop=shop)
            operator = User.objects.create_user(username="bench-op", email="op@bench.test", password="x")
            Operator.objects.create(shop=shop, user=operator, role=OperatorRole.OWNER)
            groups = [Group.objects.create(shop=shop, name=f"群{i}", capacity=10_000) for i in range(GROUPS)]
            sku = Sku.objects.create(
                product=Product.objects.create(shop=shop, name="米粉"), spec="500g", price=Decimal("39.90"), stock=10
            )
            person = User.objects.create(username="bench-template", phone="+8613000000000")
            membership = Membership.objects.create(
                group=groups[0], user=person, status=MembershipStatus.ACTIVE, joined_at=start, first_joined_at=start
            )
            order = Order.objects.create(
                shop=shop,
                group=groups[0],
                member=person,
                number="BENCH0",
                state="paid",
                subtotal=sku.price,
                total=sku.price,
                delivery="none",
                idempotency_key="bench-0",
                request_fingerprint="x",
                pay_deadline=start,
                created_at=start,
                paid_at=start,
            )
            line = OrderLine.objects.create(
                order=order,
                sku=sku,
                product=sku.product,
                product_name="米粉",
                spec="500g",
                unit_price=sku.price,
                quantity=1,
                line_total=sku.price,
            )
            activity = MemberActivity.objects.create(group=groups[0], user=person, kind="order", at=start)
            state = {
                "user": person.pk,
                "membership": membership.pk,
                "order": order.pk,
                "line": line.pk,
                "activity": activity.pk,
                "groups": [g.pk for g in groups],
                "next": 1,
            }
        first, span = state["next"], f"interval '{days * 86400:.0f} seconds'"
        at = f"timestamptz '{start.isoformat()}' + random() * {span}"
        _copy_rows(
            cursor,
            User,
            state["user"],
            {"username": "'bench-' || g", "phone": "'+86139' || lpad(g::text, 8, '0')"},
            f"generate_series({first}, {first + members - 1}) g",
        )
        cursor.execute("SELECT min(id), max(id) FROM accounts_user WHERE id > %s", [state.get("high", state["user"])])
        low, high = cursor.fetchone()
        state.setdefault("low", low)
        group_of = f"(ARRAY{state['groups']})[1 + (%s %% {GROUPS})]"
        _copy_rows(
            cursor,
            Membership,
            state["membership"],
            {
                "user_id": "u.id",
                "group_id": group_of % "u.id",
                "joined_at": at,
                "first_joined_at": at,
                "requested_at": at,
            },
            "accounts_user u",
            f"u.id BETWEEN {low} AND {high}",
        )
        # Buyers are any member so far, so the day after brings repeat orders as well as first ones.
        _copy_rows(
            cursor,
            Order,
            state["order"],
            {
                "member_id": "n.member",
                "group_id": group_of % "n.member",
                "number": "'B' || n.g",
                "idempotency_key": "'bench-' || n.g",
                "created_at": "n.paid",
                "paid_at": "n.paid",
                "pay_deadline": "n.paid",
            },
            f"(SELECT g, {state['low']} + floor(random() * {high - state['low'] + 1})::int AS member, {at} AS paid "
            f"FROM generate_series({first}, {first + orders - 1}) g) n",
        )
        cursor.execute("SELECT id FROM orders_order WHERE number = %s", [f"B{first}"])
        (first_order,) = cursor.fetchone()
        _copy_rows(cursor, OrderLine, state["line"], {"order_id": "o.id"}, "orders_order o", f"o.id >= {first_order}")
        _copy_rows(
            cursor,
            MemberActivity,
            state["activity"],
            {"group_id": "o.group_id", "user_id": "o.member_id", "at": "o.paid_at"},
            "orders_order o",
            f"o.id >= {first_order}",
        )
        state["high"] = high
        state["next"] = first + max(orders, members)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return shop, state


BASELINE = [
    "SELECT (paid_at AT TIME ZONE 'Asia/Shanghai')::date, group_id, count(*), sum(total) FROM orders_order "
    "WHERE shop_id = %(shop)s AND paid_at >= %(since)s GROUP BY 1, 2",
    "SELECT (m.first_joined_at AT TIME ZONE 'Asia/Shanghai')::date, m.group_id, m.channel, count(*) "
    "FROM groups_membership m JOIN groups_group g ON g.id = m.group_id "
    "WHERE g.shop_id = %(shop)s AND m.first_joined_at >= %(since)s GROUP BY 1, 2, 3",
    "SELECT (a.at AT TIME ZONE 'Asia/Shanghai')::date, a.group_id, count(DISTINCT a.user_id) "
    "FROM groups_memberactivity a JOIN groups_group g ON g.id = a.group_id "
    "WHERE g.shop_id = %(shop)s AND a.at >= %(since)s GROUP BY 1, 2",
]


def baseline(shop, since) -> float:
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in BASELINE:
            cursor.execute(sql, {"shop": shop.pk, "since": since})
            cursor.fetchall()
    return time.perf_counter() - start


def page_times(shop) -> list[tuple[str, float, float]]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from shops.models import Operator

    client = Client()
    client.force_login(Operator.objects.get(shop=shop).user)
    since = timezone.now() - timedelta(days=30)
    found = []
    for name in PAGES:
        runs = []
        for _ in range(3):
            _response, seconds = timed(client.get, reverse(f"dashboard:{name}"))
            assert _response.status_code == 200, name
            runs.append(seconds)
        plain = []
        for _ in range(3):
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT group_id, count(*), sum(total) FROM orders_order "
                    "WHERE shop_id = %s AND paid_at >= %s GROUP BY 1",
                    [shop.pk, since],
                )
                cursor.fetchall()
            plain.append(time.perf_counter() - start)
        found.append((name, statistics.median(runs), statistics.median(plain)))
    return found


def _summaries(shop) -> tuple:
    from analytics.models import CohortFact, RepeatFact, RepeatIntervalFact

    return tuple(
        sorted((tuple(row.values()) for row in model.objects.filter(shop=shop).values(*fields)), key=repr)
        for model, fields in (
            (RepeatFact, ["scope", "scope_id", "since", "month", "buyers", "repeaters"]),
            (RepeatIntervalFact, ["product_id", "month", "days", "repeat_orders", "reminded"]),
            (CohortFact, ["group_id", "basis", "cohort", "week", "members", "ordered", "active"]),
        )
    )


def run(args) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from analytics import facts
    from analytics.models import CohortFact, DailyFact, FactWatermark, OrderProductFact, RepeatFact
    from shequn.jobs import JobResult

    n, m = args.orders, args.members
    print(f"migrating, then seeding {n:,} paid orders from {m:,} members over {DAYS} days…", flush=True)
    call_command("migrate", verbosity=0)
    (shop, state), seed_s = timed(seed, n, m, day_offset=-1)
    print(f"  seeded in {seed_s:.0f} s", flush=True)

    rows, build_s = timed(facts.rebuild_shop, shop_id=shop.pk)
    assert OrderProductFact.objects.filter(shop=shop).count() == n + 1
    build_base = baseline(shop, timezone.now() - timedelta(days=DAYS + 2))
    mark = timezone.now()
    FactWatermark.objects.update_or_create(name=facts.JOB_NAME, defaults={"changes_until": mark})

    day = max(n // DAYS, 1)
    # The next day's orders, joins and activity, stamped after the watermark; the job runs at its end.
    seed(day, max(m // DAYS, 1), day_offset=1, days=1, shop=shop, state=state)
    next_run = timezone.now() + timedelta(days=1, minutes=1)
    _none, incremental_s = timed(facts.refresh, result=JobResult(), now=next_run)
    incremental_base = baseline(shop, mark)
    assert OrderProductFact.objects.filter(shop=shop).count() == n + day + 1
    # The invariant: the summaries the job kept by difference are the ones a computation from scratch gives.
    kept = _summaries(shop)
    _none, scratch_s = timed(facts.rebuild_summaries, shop_id=shop.pk)
    assert _summaries(shop) == kept, "summaries kept by difference differ from a computation from scratch"

    print(f"\nfact build for {n:,} orders, {m:,} members ({rows:,} daily fact rows):")
    print(f"  ours      {build_s:8.2f} s   (rebuild_shop: daily, order × product and member-week facts)")
    print(f"  baseline  {build_base:8.2f} s   (a GROUP BY day × group over orders, joins and activity)")
    print(f"  ratio     {build_s / build_base:8.1f}×")
    print(f"\nthe day after ({day:,} new orders), the periodic job:")
    print(f"  ours      {incremental_s:8.2f} s   (changed days found through the watermark, rebuilt)")
    print(f"  baseline  {incremental_base:8.3f} s   (the same GROUP BYs over that day's rows)")
    print(f"  ratio     {incremental_s / incremental_base:8.1f}×")
    print(f"  (the repeat and cohort summaries from scratch instead: {scratch_s:.2f} s; the same rows)")
    summaries = (
        f"{DailyFact.objects.filter(shop=shop).count():,} daily fact rows, "
        f"{RepeatFact.objects.filter(shop=shop).count():,} repeat and "
        f"{CohortFact.objects.filter(shop=shop).count():,} cohort summary rows"
    )
    print(f"\npages (default ranges, median of 3; {summaries}):")
    from django.conf import settings
    from django.test import override_settings

    # Pages are rendered in-process without collectstatic: static URLs come from plain storage.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain_static):
        pages = page_times(shop)
    for name, ours_s, plain_s in pages:
        print(
            f"  {name:20s} {ours_s * 1000:8.1f} ms   baseline {plain_s * 1000:8.1f} ms   ratio {ours_s / plain_s:6.2f}×"
        )


def main() -> None:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("bench needs DATABASE_URL (PostgreSQL): run it with scripts/bench analytics")
    name, url = make_database(base_url, "analytics")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.db import connections

    started = time.perf_counter()
    try:
        run(args)
    finally:
        connections.close_all()
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(base_url, name)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
