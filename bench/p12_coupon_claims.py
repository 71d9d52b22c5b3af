"""P12 — claiming coupons of one template down to its last unit, many claimers at once.

Measured in one run against a real PostgreSQL, in this process, `--threads` claimers at a time (each on its
own connection, one transaction per claim):

  ours      `campaigns.types.coupon.kind.claim_coupon` by fresh members until the template's supply is gone
            and past it: the claim's audience and limit checks, its unique claim numbers, the supply taken by
            one conditional UPDATE of the template row (the hot row), the coupon row;
  baseline  the same threads running the single-hot-row conditional UPDATE alone
            (`UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0`), as many statements as claims.

Target: ours ≥ 0.25× the baseline's rate (as P4's hot SKU). Invariants: exactly the supply was claimed
(never a unit more, every unit once), one coupon per member, and the template's counter equals its coupons.

    scripts/bench P12 [--supply N] [--claimers N] [--threads N] [--keep]

The script makes its own database (dropped at the end unless --keep).
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import Measure, drop_database, make_database, print_measures, timed  # noqa: E402

ID = "P12"
TITLE = "coupon claims down to the last unit (one template row)"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supply", type=int, default=1500, help="the template's supply (default 1,500)")
    parser.add_argument("--claimers", type=int, default=1800, help="members claiming, one claim each (default 1,800)")
    parser.add_argument("--threads", type=int, default=8, help="claimers at a time (default 8)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args(argv)


def world(supply: int, claimers: int):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from campaigns import services
    from campaigns.models import CampaignType
    from groups.models import Group, Membership, MembershipStatus
    from shops.models import Shop, ShopSettings

    shop = Shop.objects.create(name="基准店", slug=f"bench-p12-{os.getpid()}")
    ShopSettings.objects.create(shop=shop)
    group = Group.objects.create(shop=shop, name="领券群", capacity=claimers + 10, state="active")
    people = User.objects.bulk_create(
        [User(username=f"p12-{i}", display_name=f"成员{i}", password="!") for i in range(claimers)]
    )
    now = timezone.now()
    Membership.objects.bulk_create(
        [
            Membership(group=group, user=p, status=MembershipStatus.ACTIVE, joined_at=now, first_joined_at=now)
            for p in people
        ]
    )
    template = services.create_campaign(
        shop=shop,
        by=None,
        type=CampaignType.COUPON,
        name="满 100 减 20",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=1),
        all_groups=True,
        stock_cap=supply,
        settings={"coupon_kind": "threshold", "threshold": "100", "amount_off": "20", "valid_days": 7},
        hook_title="满 100 减 20",
        hook_text="领券",
        proof_text="限量",
        cta_text="领取",
    )
    template = services.schedule_campaign(campaign=template, by=None)
    return template, people


def _in_threads(threads: int, n: int, work) -> None:
    """work(0) … work(n - 1) on `threads` threads, each on one database connection of its own for all of its
    share (opened by its first statement, closed when its share is done): neither side pays a connection
    per statement, which would be most of the baseline's time."""
    from django.db import connections

    def share(first):
        try:
            for i in range(first, n, threads):
                work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(share, range(threads)))


def ours(template, people, threads: int) -> tuple[float, int]:
    from campaigns.types.coupon import kind as coupons

    refused = []

    def claim(i):
        try:
            coupons.claim_coupon(campaign=template, member=people[i])
        except coupons.CouponRefused as exc:
            refused.append(exc.reason)

    _none, seconds = timed(_in_threads, threads, len(people), claim)
    return seconds, len(refused)


def baseline(n: int, supply: int, threads: int) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_hot (id int PRIMARY KEY, n int NOT NULL)")
        cursor.execute("INSERT INTO bench_hot VALUES (1, %s)", [supply])

    def take(_i):
        from django.db import connection as own

        with own.cursor() as cursor:
            cursor.execute("UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0")

    _none, seconds = timed(_in_threads, threads, n, take)
    return seconds


def invariants(template, supply: int, claimers: int) -> dict[str, bool]:
    from django.db.models import Count

    from campaigns.models import Campaign, Coupon

    coupons = Coupon.objects.filter(campaign=template)
    counter = Campaign.objects.values_list("stock_used", flat=True).get(pk=template.pk)
    return {
        "exactly the supply claimed": coupons.count() == min(supply, claimers),
        "one coupon per member": not coupons.values("member").annotate(n=Count("pk")).filter(n__gt=1).exists(),
        "the template's counter equals its coupons": counter == coupons.count(),
    }


def run(argv) -> list[Measure]:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("P12 needs DATABASE_URL (PostgreSQL): run it with scripts/bench")
    name, url = make_database(base_url, "p12")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        template, people = world(args.supply, args.claimers)
        ours_seconds, refused = ours(template, people, args.threads)
        checks = invariants(template, args.supply, args.claimers)
        checks["every claim past the supply refused"] = refused == max(args.claimers - args.supply, 0)
        base_seconds = baseline(args.claimers, args.supply, args.threads)
    finally:
        connections.close_all()
        if not args.keep:
            drop_database(base_url, name)
        else:
            print(f"kept database {name}")
    notes = (
        f"{args.claimers:,} claims ({args.supply:,} supply), {args.threads} at a time: ours {ours_seconds:.2f} s, "
        f"conditional UPDATE {base_seconds:.2f} s; nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(notes, flush=True)
    return [
        Measure(
            id=ID,
            name="coupon claims to the last unit",
            figure=args.claimers / ours_seconds,
            baseline=args.claimers / base_seconds,
            unit="claims/s",
            baseline_name="single-hot-row conditional UPDATE",
            target=0.25,
            invariants=checks,
            notes=notes,
        )
    ]


if __name__ == "__main__":
    print_measures(run(sys.argv[1:]))
