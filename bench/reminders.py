"""Repeat-purchase reminder fan-out benchmark: N members (default 100,000) are due for a reminder now.

Measures, in one run against a real PostgreSQL:

  ours      the reminder job end to end: `dispatch_due_reminders` picks the due rows and hands them out in
            batches of 1,000, and each batch runs `send_reminder_batch` (rows claimed FOR UPDATE SKIP LOCKED,
            re-order check, may_market, the unique RepurchaseReminder row, then notify's outbox row) —
            on --workers threads with a database connection each, as that many Celery workers would;
  baseline  the same rows (one RepurchaseReminder and one Notification per member) written with bulk
            INSERTs in one transaction: no rules, no idempotency, the floor for writing that much.

Prints both times, the rates, and ours ÷ baseline as a ratio of times (how many times slower the rules
and the exactly-once guarantees make it). Run with `scripts/bench reminders [--members N]`; the script
makes its own database on that server (dropped at the end unless --keep).
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import drop_database, make_database, timed  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000, help="members due for a reminder (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000, help="members per batch task (default 1,000)")
    parser.add_argument("--workers", type=int, default=4, help="batches run at once (default 4)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def seed(n: int):
    """A shop with one group and product; n members, each with a paid order 29 days ago (due in a day)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from groups.models import Group
    from orders.models import DueBasis, Order, OrderLine, OrderState, Product, RepurchaseDue, Sku
    from shops.models import Shop, ShopSettings

    now = timezone.now()
    bought = now - timedelta(days=29)
    with transaction.atomic():
        shop = Shop.objects.create(name="基准店", slug=f"bench-{os.getpid()}")
        ShopSettings.objects.create(shop=shop)
        group = Group.objects.create(shop=shop, name="基准群", capacity=350, state="active")
        product = Product.objects.create(shop=shop, name="有机米粉", usage_cycle_days=30)
        other = Product.objects.create(shop=shop, name="基线商品", usage_cycle_days=30)
        sku = Sku.objects.create(product=product, spec="500g", price=Decimal("39.90"), stock=10**9)
    step = 5000
    for start in range(0, n, step):
        size = min(step, n - start)
        with transaction.atomic():
            users = User.objects.bulk_create(
                [
                    User(username=f"bench{start + i}", phone=f"+86139{start + i:08d}", display_name=f"会员{start + i}")
                    for i in range(size)
                ]
            )
            orders = Order.objects.bulk_create(
                [
                    Order(
                        shop=shop,
                        group=group,
                        member=u,
                        number=f"B{u.pk:012d}",
                        state=OrderState.COMPLETED,
                        subtotal=sku.price,
                        total=sku.price,
                        delivery="shipping",
                        recipient_name="王芳",
                        recipient_phone="13800138000",
                        address="上海市徐汇区漕溪北路 1 号",
                        idempotency_key=f"b{u.pk}",
                        request_fingerprint="bench",
                        pay_deadline=bought,
                        created_at=bought,
                        paid_at=bought,
                    )
                    for u in users
                ]
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=o,
                        sku=sku,
                        product=product,
                        product_name=product.name,
                        spec=sku.spec,
                        unit_price=sku.price,
                        quantity=1,
                        line_total=sku.price,
                    )
                    for o in orders
                ]
            )
            RepurchaseDue.objects.bulk_create(
                [
                    RepurchaseDue(
                        shop=shop,
                        member_id=o.member_id,
                        product=product,
                        group=group,
                        cycle=o.pk,
                        last_purchase_at=bought,
                        last_quantity=1,
                        purchases=1,
                        interval=timedelta(days=30),
                        basis=DueBasis.CYCLE,
                        due_at=bought + timedelta(days=30),
                    )
                    for o in orders
                ]
            )
        print(f"  seeded {start + size:>9,} members", end="\r", flush=True)
    print()
    return shop, other


def ours(batch: int, workers: int) -> tuple[int, int, float]:
    """Dispatch, then every batch on `workers` threads (each its own database connection, like workers)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from django.utils import timezone

    from orders.reminders import dispatch_due_reminders, send_reminder_batch

    now = timezone.now()
    batches: list[list[int]] = []

    def work(ids):
        try:
            return send_reminder_batch(ids, now=now)
        finally:
            connections.close_all()

    def fan_out():
        dispatch_due_reminders(now=now, batch_size=batch, enqueue=batches.append)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(work, batches))

    sent, seconds = timed(fan_out)
    return sent, len(batches), seconds


def baseline(shop, product, n: int) -> float:
    """The same number of reminder and notification rows, bulk-inserted in one transaction."""
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Notification
    from orders.models import RepurchaseDue, RepurchaseReminder

    members = list(RepurchaseDue.objects.filter(shop=shop).values_list("member_id", flat=True)[:n])
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
    return seconds


def run(args) -> None:
    from django.core.management import call_command

    from notifications.models import Notification
    from orders.models import RepurchaseReminder

    n = args.members
    print(f"migrating, then seeding {n:,} members due for a reminder…", flush=True)
    call_command("migrate", verbosity=0)
    shop, other = seed(n)

    sent, batches, ours_s = ours(args.batch, args.workers)
    assert sent == n, f"sent {sent} of {n}"
    assert RepurchaseReminder.objects.count() == n and Notification.objects.filter(kind="repurchase").count() == n
    base_s = baseline(shop, other, n)

    print(f"\nreminder fan-out for {n:,} due members ({batches} batches of ≤{args.batch:,}):")
    print(
        f"  ours      {ours_s:8.1f} s   {n / ours_s:10,.0f} members/s   "
        f"(dispatch + every batch, {args.workers} workers)"
    )
    print(f"  baseline  {base_s:8.1f} s   {n / base_s:10,.0f} members/s   (bulk INSERT of the same rows)")
    print(f"  ratio     {ours_s / base_s:8.1f}×  (ours ÷ baseline time)")
    print(
        f"  per batch {ours_s * args.workers / batches:8.1f} s   (what one worker spends on a task of "
        f"{args.batch:,}, about)"
    )


def main() -> None:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("bench needs DATABASE_URL (PostgreSQL): run it with scripts/bench reminders")
    name, url = make_database(base_url, "reminders")
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
