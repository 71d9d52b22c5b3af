"""P8 — repeat-purchase reminders planned and queued for N members (default 1,000,000) due now.

Measured in one run against a real PostgreSQL and Redis (the broker):

  ours        the reminder job end to end: `dispatch_due_reminders` picks the due rows and publishes batch
              tasks of --batch members to the broker (a queue of this run's own); --workers threads, each
              with its own database connection as that many Celery workers, run each batch task
              (`orders.tasks.send_repurchase_reminders`: rows claimed FOR UPDATE SKIP LOCKED, the re-order
              check, `notifications.marketing_eligibility`, the reminder rows and the outbox rows in bulk).
  per member  the same work as one Celery task per member (published to the broker, then run by the same
              number of worker threads), measured on --sample members and extrapolated to N.
  bulk        the same rows (one RepurchaseReminder and one Notification per member) written with bulk
              INSERTs in one transaction: no rules, no idempotency — the floor for writing that much.

Targets (issue 19): ours ≥ 5× the one-task-per-member rate, and ours at most 3× the bulk INSERT's time
(a rate ratio ≥ 1/3). Invariants: exactly one reminder and one notification per due member who may be
reminded, none for the members who opted out of reminders or have an open after-sales case.

    scripts/bench p8_reminders [--members N] [--sample N] [--batch N] [--workers N] [--keep]

The script makes its own database on the server of DATABASE_URL (dropped at the end unless --keep) and
publishes to a broker queue of its own on REDIS_URL (deleted at the end).
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import Measure, drop_database, make_database, print_measures, timed  # noqa: E402

ID = "P8"
TITLE = "1M repeat-purchase reminders planned and queued"
OPTED_OUT_EVERY = 97  # every 97th member opted out of reminders
HELD_EVERY = 89  # every 89th member has an open after-sales case


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000, help="members due for a reminder (default 1M)")
    parser.add_argument("--sample", type=int, default=1000, help="members sent one task each (default 1,000)")
    parser.add_argument("--batch", type=int, default=1000, help="members per batch task (default 1,000)")
    parser.add_argument("--workers", type=int, default=2, help="worker threads (default 2: one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args(argv)


def seed(n: int):
    """A shop with one group and product; n members each with a paid order 29 days ago (due in a day).
    Written with INSERT … SELECT over generate_series: the seed is not what is measured."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from groups.models import Group
    from orders.models import AfterSalesCase, Order, OrderLine, Product, RepurchaseDue, Sku
    from shops.models import Shop, ShopSettings

    now = timezone.now()
    bought = now - timedelta(days=29)
    with transaction.atomic():
        shop = Shop.objects.create(name="基准店", slug=f"bench-{os.getpid()}")
        ShopSettings.objects.create(shop=shop)
        group = Group.objects.create(shop=shop, name="基准群", capacity=350, state="active")
        product = Product.objects.create(shop=shop, name="有机米粉", usage_cycle_days=30)
        other = Product.objects.create(shop=shop, name="基线商品", usage_cycle_days=30)
        sku = Sku.objects.create(product=product, spec="500g", price="39.90", stock=10**9)
        template = User.objects.create(username="bench-template", display_name="模板", password="!")
    users, orders, lines, dues, cases = (
        m._meta.db_table for m in (User, Order, OrderLine, RepurchaseDue, AfterSalesCase)
    )
    user_columns = [f.column for f in User._meta.concrete_fields if f.column not in ("id", "username", "phone")]
    step = 100_000
    for start in range(0, n, step):
        size = min(step, n - start)
        with transaction.atomic(), connection.cursor() as cursor:
            copied = ", ".join(f'"{c}"' for c in user_columns)
            from_template = ", ".join(f't."{c}"' for c in user_columns)
            cursor.execute(
                f"INSERT INTO {users} (username, phone, {copied}) SELECT 'bench' || g, "
                f"'+86139' || lpad(g::text, 8, '0'), {from_template} FROM generate_series(%s, %s) g, {users} t "
                "WHERE t.id = %s",
                [start, start + size - 1, template.pk],
            )
            cursor.execute(
                f"INSERT INTO {orders} (shop_id, group_id, member_id, number, state, subtotal, discount, total, "
                "paid_amount, refunded_amount, delivery, recipient_name, recipient_phone, address, note, "
                "source, currency, tracking_number, idempotency_key, request_fingerprint, pay_deadline, created_at, "
                "paid_at) SELECT %s, %s, u.id, 'B' || lpad(u.id::text, 12, '0'), 'completed', 39.90, 0, 39.90, "
                "39.90, 0, 'shipping', '王芳', '13800138000', '上海市徐汇区漕溪北路 1 号', '', '', 'CNY', '', "
                "'b' || u.id, 'bench', %s, %s, %s "
                f"FROM {users} u WHERE u.username LIKE 'bench%%' AND u.id > %s AND NOT EXISTS "
                f"(SELECT 1 FROM {orders} o WHERE o.member_id = u.id)",
                [shop.pk, group.pk, bought, bought, bought, template.pk],
            )
            cursor.execute(
                f"INSERT INTO {lines} (order_id, sku_id, product_id, product_name, spec, unit_price, quantity, "
                "line_total) SELECT o.id, %s, %s, %s, '500g', 39.90, 1, 39.90 "
                f"FROM {orders} o WHERE o.shop_id = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {lines} l WHERE l.order_id = o.id)",
                [sku.pk, product.pk, product.name, shop.pk],
            )
            cursor.execute(
                f"INSERT INTO {dues} (shop_id, member_id, product_id, group_id, cycle, last_purchase_at, "
                "last_quantity, purchases, interval, basis, due_at, state, updated_at) "
                "SELECT o.shop_id, o.member_id, %s, o.group_id, o.id, o.paid_at, 1, 1, interval '30 days', 'cycle', "
                f"o.paid_at + interval '30 days', 'waiting', now() FROM {orders} o WHERE o.shop_id = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {dues} d WHERE d.member_id = o.member_id)",
                [product.pk, shop.pk],
            )
        print(f"  seeded {start + size:>9,} members", end="\r", flush=True)
    print()
    with transaction.atomic(), connection.cursor() as cursor:
        # Opted out of reminders, and open after-sales cases (on their own order): no reminder for them.
        cursor.execute(
            "INSERT INTO notifications_preference (shop_id, user_id, marketing, reminder, campaign, updated_at) "
            f"SELECT %s, d.member_id, true, false, true, now() FROM {dues} d WHERE d.shop_id = %s "
            f"AND d.member_id %% {OPTED_OUT_EVERY} = 0",
            [shop.pk, shop.pk],
        )
        cursor.execute(
            f"INSERT INTO {cases} (order_id, shop_id, member_id, reason, state, resolution, created_at) "
            f"SELECT d.cycle, d.shop_id, d.member_id, '破损', 'open', '', now() FROM {dues} d WHERE d.shop_id = %s "
            f"AND d.member_id %% {HELD_EVERY} = 0",
            [shop.pk],
        )
        cursor.execute("ANALYZE")
    return shop, other


def worker_pool(workers: int):
    """Threads that each run tasks with a database connection of their own, as Celery workers would."""
    from django.db import connections

    from shequn.celery import app as celery_app

    pool = ThreadPoolExecutor(max_workers=workers)

    def run(task, args):
        celery_app.set_current()  # Celery's current app is per thread: a worker thread needs the project's
        try:
            return task.apply(args=args).get()
        finally:
            connections.close_all()

    return pool, run


def per_member(sample_ids: list[int], queue: str, workers: int) -> float:
    """One Celery task per member: publish each to the broker, then run each on the worker threads."""
    from orders.tasks import send_repurchase_reminders as task

    def go():
        for due_id in sample_ids:
            task.apply_async(args=[[due_id]], queue=queue)
        pool, run = worker_pool(workers)
        with pool:
            return sum(pool.map(lambda due_id: run(task, [[due_id]]), sample_ids))

    sent, seconds = timed(go)
    return sent, seconds


def ours(batch: int, queue: str, workers: int) -> tuple[int, int, float]:
    """Dispatch (as often as it hands rows out: at most MAX_PER_RUN a run), publishing each batch task to
    the broker and running it on the worker threads as it comes."""
    from django.utils import timezone

    from orders.reminders import dispatch_due_reminders
    from orders.tasks import send_repurchase_reminders as task

    now = timezone.now()
    pool, run = worker_pool(workers)
    futures = []

    def enqueue(ids):
        task.apply_async(args=[ids], queue=queue)
        futures.append(pool.submit(run, task, [ids]))

    def fan_out():
        with pool:
            while dispatch_due_reminders(now=now, batch_size=batch, enqueue=enqueue):
                pass
            return sum(f.result() for f in futures)

    sent, seconds = timed(fan_out)
    return sent, len(futures), seconds


def bulk_insert(shop, product, members: list[int]) -> float:
    """The same number of reminder and notification rows, bulk-inserted in one transaction (then removed)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.models import Notification
    from orders.models import RepurchaseReminder

    now = timezone.now()

    def write():
        with transaction.atomic():
            RepurchaseReminder.objects.bulk_create(
                [
                    RepurchaseReminder(shop=shop, member_id=m, product=product, cycle=1, due_at=now, sent_at=now)
                    for m in members
                ],
                batch_size=5000,
            )
            Notification.objects.bulk_create(
                [
                    Notification(
                        shop=shop,
                        user_id=m,
                        category="reminder",
                        kind="bench",
                        key=f"bench:{m}",
                        title="「基线商品」快用完了吗？",
                        body="基线",
                        url="/m/",
                    )
                    for m in members
                ],
                batch_size=5000,
            )

    _none, seconds = timed(write)
    with connection.cursor() as cursor:  # plain DELETEs: the ORM's would collect a million rows first
        cursor.execute(f"DELETE FROM {RepurchaseReminder._meta.db_table} WHERE product_id = %s", [product.pk])
        cursor.execute(f"DELETE FROM {Notification._meta.db_table} WHERE kind = 'bench'")
    return seconds


def invariants(shop) -> dict[str, bool]:
    from django.db.models import Count

    from notifications.models import Notification
    from orders.models import AfterSalesCase, RepurchaseDue, RepurchaseReminder

    due = set(RepurchaseDue.objects.filter(shop=shop).values_list("member_id", flat=True))
    opted_out = {m for m in due if m % OPTED_OUT_EVERY == 0}
    held = set(AfterSalesCase.objects.filter(shop=shop, state="open").values_list("member_id", flat=True))
    expected = due - opted_out - held
    reminded = list(RepurchaseReminder.objects.filter(shop=shop).values_list("member_id", "notification_id"))
    told = dict(
        Notification.objects.filter(shop=shop, kind="repurchase")
        .values_list("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    reminded_members = [m for m, _n in reminded]
    return {
        "one reminder per due member": sorted(reminded_members) == sorted(expected),
        "one notification per due member": told == dict.fromkeys(expected, 1),
        "each reminder names its notification": all(n is not None for _m, n in reminded),
        "none for opted-out members": not (opted_out & set(reminded_members)),
        "none for members in after-sales": not (held & set(reminded_members)),
    }


def run(argv) -> list[Measure]:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("P8 needs DATABASE_URL (PostgreSQL) and REDIS_URL: run it with scripts/bench")
    name, url = make_database(base_url, "p8")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from shequn.celery import app as current_app  # the project's app, as a worker has it (the kicks find it)

    queue = f"bench-p8-{os.getpid()}"
    current_app.conf.task_default_queue = queue  # the outbox's kicks too: this run's queue, deleted at the end
    current_app.loader.import_default_modules()  # every task registered before the worker threads start
    started = time.perf_counter()
    try:
        n, sample = args.members, min(args.sample, args.members)
        print(f"P8: migrating, then seeding {n + sample:,} members due for a reminder…", flush=True)
        call_command("migrate", verbosity=0)
        shop, other = seed(n + sample)
        measures = measure(shop, other, n, sample, args, queue)
    finally:
        connections.close_all()
        redis = current_app.connection_for_write().default_channel.client
        redis.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(base_url, name)
    print(f"P8 done in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f}", flush=True)
    return measures


def measure(shop, other, n: int, sample: int, args, queue: str) -> list[Measure]:
    from orders.models import DueState, RepurchaseDue

    ids = list(RepurchaseDue.objects.filter(shop=shop).order_by("-pk").values_list("pk", flat=True)[:sample])
    sample_sent, sample_seconds = per_member(ids, queue, args.workers)
    # The sample's rows are done (or deferred): put them out of the dispatcher's way.
    RepurchaseDue.objects.filter(pk__in=ids).update(state=DueState.LAPSED)
    sent, batches, ours_seconds = ours(args.batch, queue, args.workers)
    checks = invariants(shop)
    members = list(RepurchaseDue.objects.filter(shop=shop).values_list("member_id", flat=True)[:n])
    bulk_seconds = bulk_insert(shop, other, members)
    per_member_rate = sample / sample_seconds
    ours_rate = n / ours_seconds
    notes = (
        f"{n:,} due members ({sent:,} reminded) in {ours_seconds:.1f} s, {batches} batches of ≤{args.batch:,} on "
        f"{args.workers} workers; one task per member: {sample:,} in {sample_seconds:.1f} s "
        f"({sample_sent} sent), extrapolated {n / per_member_rate:,.0f} s; bulk INSERT {bulk_seconds:.1f} s; "
        f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(notes, flush=True)
    return [
        Measure(
            id=ID,
            name="reminders vs one Celery task per member",
            figure=ours_rate,
            baseline=per_member_rate,
            unit="members/s",
            baseline_name=f"one task per member, {sample:,}-member sample",
            target=5.0,
            invariants=checks,
            notes=notes,
        ),
        Measure(
            id=ID,
            name="reminders vs bulk INSERT of the same rows",
            figure=ours_rate,
            baseline=n / bulk_seconds,
            unit="members/s",
            baseline_name="bulk INSERT of reminder + notification rows",
            target=1 / 3,
            invariants=checks,
            notes=notes,
        ),
    ]


if __name__ == "__main__":
    print_measures(run(sys.argv[1:]))
