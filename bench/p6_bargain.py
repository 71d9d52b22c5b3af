"""P6 — cuts on one hot 砍价 bargain, against pgbench's single-hot-row conditional UPDATE with as many
clients as gunicorn has workers.

A running bargain campaign (¥100 → ¥10 floor in 1,000 planned cuts) and one member's bargain; each round
--cuts friends (a month-old account each, signed in with a session made before the run) POST 帮TA砍一刀
through the asyncio client, --connections at a time. Baseline right after: `pgbench -c <workers>` of
`UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0` for --seconds.

Invariants (from the database afterwards): the cuts are numbered 1…k with no gap or repeat, one per
successful POST; the bargain's price is the original less the sum of its cut rows and never below the
floor; a floor burst (12 friends at once on a bargain of 5 cuts) makes exactly 5 cuts, ending at the floor.
"""

import argparse
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, pgbench_hot_row, web_options  # noqa: E402

ID = "P6"
TITLE = "bargain cuts on one hot bargain vs pgbench hot-row UPDATE"
TARGET = 0.25
SETTINGS = {
    "original_price": "100.00",
    "floor_price": "10.00",
    "min_cuts": 1000,
    "time_limit_minutes": 600,
    "first_cut_share": "0.50",
    "pay_within_minutes": 60,
}


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P6", description=__doc__))
    parser.add_argument("--cuts", type=int, default=100, help="cuts per round (default 100)")
    args = parser.parse_args(argv)
    bench = Bench("p6", args)
    try:
        return bench.variants(lambda web: measure(bench, args, web=web))
    finally:
        bench.close()


def bargain(min_cuts: int):
    from django.utils import timezone

    from campaigns import services
    from campaigns.models import CampaignType
    from campaigns.types.bargain import kind as bargaining

    shop = _seed.shop()
    group = _seed.group(shop, capacity=100)
    _product, sku = _seed.product(shop, price="100.00", stock=1000, name="砍价米粉")
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=None,
        type=CampaignType.BARGAIN,
        name="砍到 10 元 有机米粉",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        sku=sku,
        settings={**SETTINGS, "min_cuts": min_cuts},
        hook_title="砍到 10 元",
        hook_text="叫朋友帮你砍",
        proof_text="有机认证",
        cta_text="发起砍价",
    )
    campaign = services.schedule_campaign(campaign=campaign, by=None)
    starter = _seed.members(1, "p6s")[0]
    _seed.add_members(group, [starter])
    return bargaining.start_bargain(campaign=campaign, member=starter)


def cut_path(task) -> str:
    """The cut POST as a friend makes it: from the starter's share link, whose `?by=` token credits them (a
    bargain is visible to friends who came through a share link only)."""
    from urllib.parse import parse_qs, urlsplit

    from campaigns import services

    token = parse_qs(urlsplit(services.share_path(task.campaign, task.starter, task)).query)["by"][0]
    return f"/m/c/bargain/{task.pk}/cut/?by={token}"


def measure(bench: Bench, args, web: int) -> list[Measure]:
    suffix = "" if web == 1 else f" ×{web} processes"
    n, rounds = args.cuts, args.rounds
    task = bargain(SETTINGS["min_cuts"])
    small = bargain(5)
    friends = bench.sessions(_seed.members(n * (rounds + 1) + 12, f"p6f{web}x"))
    path = cut_path(task)
    batches = [[bench.post(path, key, {}) for key in friends[r * n : (r + 1) * n]] for r in range(rounds + 1)]
    answers = []
    clients = args.workers * web
    with bench.serving(web=web, celery=web):
        answers += bench.fire(batches[0][: n // 4])[0]

        def cuts(r):
            got, rate = bench.fire(batches[r + 1])
            answers.extend(got)
            return rate

        hot_row = lambda _r: pgbench_hot_row(bench.db_url, clients=clients, seconds=args.seconds, tmp=bench.tmp)  # noqa: E731
        medians = bench.rounds({"cuts": cuts, "pgbench hot row": hot_row})
        burst = bench.fire([bench.post(cut_path(small), key, {}) for key in friends[-12:]])[0]
        bench.drain_celery()
    made = sum(a.status == 302 for a in answers)
    return [
        Measure(
            id=ID,
            name=f"bargain cuts on one hot bargain{suffix}",
            figure=medians["cuts"],
            baseline=medians["pgbench hot row"],
            unit="cuts/s",
            baseline_name=f"pgbench hot-row UPDATE, {clients} clients",
            target=TARGET,
            invariants=cut_invariants(task, made, "")
            | cut_invariants(small, sum(a.status == 302 for a in burst), "floor burst: ", at_floor=True),
            notes=f"{len(answers)} cuts sent, {made} made",
        )
    ]


def cut_invariants(task, made: int, prefix: str, at_floor: bool = False) -> dict[str, bool]:
    from django.db.models import Sum

    from campaigns.models import BargainCut

    task.refresh_from_db()
    rows = BargainCut.objects.filter(task=task)
    numbers = sorted(rows.values_list("number", flat=True))
    total = rows.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    floor = Decimal(SETTINGS["floor_price"])
    checks = {
        f"{prefix}cuts numbered 1…k, one per success": numbers == list(range(1, made + 1)),
        f"{prefix}cuts_done = cut rows": task.cuts_done == len(numbers),
        f"{prefix}price = original − sum of cuts": task.current_price == Decimal(SETTINGS["original_price"]) - total,
        f"{prefix}price never below the floor": task.current_price >= floor,
    }
    if at_floor:
        checks[f"{prefix}exactly 5 cuts, ending at the floor"] = made == 5 and task.current_price == floor
    return checks


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
