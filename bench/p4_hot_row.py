"""P4 — orders on one hot SKU and joins into one hot 拼团 team, against pgbench's single-hot-row
conditional UPDATE with as many clients as gunicorn has workers.

Orders: each round --orders fresh members of one group, signed in (sessions made before the run), POST the
real checkout form (CSRF token, delivery, idempotency key) for quantity 1 of the same SKU, --connections at
a time through the asyncio client. Joins: each round --orders fresh members POST the team's join form
(group, delivery, idempotency key) for one open team of a running group buy (team size 100, leader paid).
Baseline, right after each: `pgbench -c <workers> -T --seconds` of
`UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0`.

Invariants (from the database afterwards): for the hot SKU, stock left + units on live orders = the
initial stock, and one order per successful POST; a sell-out burst (2 × --burst members ordering a SKU
with --burst units at once) sells exactly --burst, never more, and leaves stock 0; the team never holds
more paid seats than its size, and one pending seat per successful join.
"""

import argparse
import sys
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, pgbench_hot_row, web_options  # noqa: E402

ID = "P4"
TITLE = "orders on one hot SKU; joins into one hot team vs pgbench hot-row UPDATE"
TARGET = 0.25
STOCK = 1_000_000
FORM = {
    "delivery": "shipping",
    "recipient_name": "王芳",
    "recipient_phone": "13800138000",
    "address": "上海市徐汇区漕溪北路 1 号",
}


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P4", description=__doc__))
    parser.add_argument("--orders", type=int, default=150, help="orders (and team joins) per round (default 150)")
    parser.add_argument("--burst", type=int, default=30, help="units of the sell-out burst's SKU (default 30)")
    args = parser.parse_args(argv)
    bench = Bench("p4", args)
    try:
        return bench.variants(lambda web: measure(bench, args, web=web))
    finally:
        bench.close()


def world(n: int):
    from django.utils import timezone

    from campaigns import services
    from campaigns.models import CampaignType

    shop = _seed.shop()
    group = _seed.group(shop, capacity=10_000)  # the most a group may hold (shequn.bounds)
    _product, sku = _seed.product(shop, stock=STOCK, name="爆款米粉")
    _product, burst_sku = _seed.product(shop, stock=0, name="限量米粉")
    _product, team_sku = _seed.product(shop, stock=STOCK, price="59.90", name="拼团米粉")
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=None,
        type=CampaignType.GROUP_BUY,
        name="百人团 有机米粉",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        sku=team_sku,
        settings={"team_size": 100, "group_price": "29.90", "time_limit_minutes": 600},
        hook_title="百人成团",
        hook_text="好米粉，一起买更便宜",
        proof_text="有机认证",
        cta_text="立即开团",
    )
    campaign = services.schedule_campaign(campaign=campaign, by=None)
    people = _seed.members(n, "p4m")
    _seed.add_members(group, people)
    return group, sku, burst_sku, campaign, people


def open_paid_team(campaign, group):
    """A team whose leader opened it and paid (through the payment service's notification path)."""
    from campaigns.models import Team
    from campaigns.types.group_buy import kind as group_buy
    from orders.payments import Notification
    from orders.services import DeliveryRequest, process_notification, start_payment

    leader = _seed.members(1, "p4l")[0]
    _seed.add_members(group, [leader])
    seat = group_buy.open_team(
        campaign=campaign,
        member=leader,
        group=group,
        delivery=DeliveryRequest(**_seed.SHIPPING),
        idempotency_key=uuid.uuid4().hex,
    )
    payment, _ = start_payment(order=seat.order)
    process_notification(
        Notification(
            provider=payment.provider,
            notification_id=uuid.uuid4().hex,
            kind="payment",
            provider_ref=payment.provider_ref,
            succeeded=True,
            amount=payment.amount,
            currency=payment.currency,
            raw={},
        )
    )
    return Team.objects.get(pk=seat.team_id)


def measure(bench: Bench, args, web: int) -> list[Measure]:
    from campaigns.models import TeamSeat

    suffix = "" if web == 1 else f" ×{web} processes"
    n, rounds = args.orders, args.rounds
    group, sku, burst_sku, campaign, people = world(n * 2 * (rounds + 1) + 2 * args.burst)
    team = open_paid_team(campaign, group)
    sessions = bench.sessions(people)
    order_form = {**FORM, "sku": sku.pk, "qty": 1}
    checkout = f"/m/groups/{group.pk}/checkout/"
    join = f"/m/c/{campaign.pk}/teams/{team.pk}/join/"

    def batch(path, form, start):
        return [bench.post(path, sessions[start + i], {**form, "idempotency_key": uuid.uuid4().hex}) for i in range(n)]

    order_batches = [batch(checkout, order_form, r * n) for r in range(rounds + 1)]
    offset = n * (rounds + 1)
    join_batches = [batch(join, {**FORM, "group": group.pk}, offset + r * n) for r in range(rounds + 1)]
    burst_people = sessions[2 * offset :]
    order_answers, join_answers = [], []
    clients = args.workers * web
    with bench.serving(web=web, celery=web):
        order_answers += bench.fire(order_batches[0][: n // 4])[0]
        join_answers += bench.fire(join_batches[0][: n // 4])[0]

        def orders(r):
            got, rate = bench.fire(order_batches[r + 1])
            order_answers.extend(got)
            return rate

        def joins(r):
            got, rate = bench.fire(join_batches[r + 1])
            join_answers.extend(got)
            return rate

        hot_row = lambda _r: pgbench_hot_row(bench.db_url, clients=clients, seconds=args.seconds, tmp=bench.tmp)  # noqa: E731
        medians = bench.rounds({"orders": orders, "joins": joins, "pgbench hot row": hot_row})
        burst = burst_sell_out(bench, burst_sku, checkout, burst_people, args.burst)
        bench.drain_celery()

    team.refresh_from_db()
    seats = TeamSeat.objects.filter(team=team)
    placed = sum(a.status == 302 and "/m/orders/" in a.location for a in order_answers)
    return [
        Measure(
            id=ID,
            name=f"orders on one hot SKU{suffix}",
            figure=medians["orders"],
            baseline=medians["pgbench hot row"],
            unit="orders/s",
            baseline_name=f"pgbench hot-row UPDATE, {clients} clients",
            target=TARGET,
            invariants=stock_invariants(sku, STOCK, placed, len(order_answers)) | burst,
            notes=f"{len(order_answers)} orders sent, {placed} placed",
        ),
        Measure(
            id=ID,
            name=f"joins into one hot team{suffix}",
            figure=medians["joins"],
            baseline=medians["pgbench hot row"],
            unit="joins/s",
            baseline_name=f"pgbench hot-row UPDATE, {clients} clients",
            target=TARGET,
            invariants={
                "team never over its size": team.seats_taken <= team.size
                and seats.filter(state="won").count() <= team.size,
                "one seat per join": seats.count() - 1 == len(join_answers),
                "every join answered with the team page": all(a.status == 302 for a in join_answers),
            },
            notes=f"{len(join_answers)} joins sent, {seats.count() - 1} seats; team size {team.size}",
        ),
    ]


def live_units(sku) -> int:
    from django.db.models import Sum

    from orders.models import OrderLine

    live = OrderLine.objects.filter(sku=sku).exclude(order__state__in=["cancelled", "refunded"])
    return live.aggregate(n=Sum("quantity"))["n"] or 0


def stock_invariants(sku, initial: int, placed: int, sent: int) -> dict[str, bool]:
    from orders.models import OrderLine

    sku.refresh_from_db()
    sold = live_units(sku)
    return {
        "stock + sold = initial": sku.stock + sold == initial,
        "one order per successful POST": OrderLine.objects.filter(sku=sku).count() == placed,
        "every order POST placed an order": placed == sent,
    }


def burst_sell_out(bench: Bench, sku, checkout: str, sessions: list[str], units: int) -> dict[str, bool]:
    """2 × units members order one unit each of a SKU with `units` in stock, all at once."""
    from orders.models import Sku

    Sku.objects.filter(pk=sku.pk).update(stock=units)
    form = {**FORM, "sku": sku.pk, "qty": 1}
    requests = [bench.post(checkout, key, {**form, "idempotency_key": uuid.uuid4().hex}) for key in sessions]
    answers, _rate = bench.fire(requests[: 2 * units])
    placed = sum(a.status == 302 and "/m/orders/" in a.location for a in answers)
    sku.refresh_from_db()
    return {
        "sell-out burst: exactly the stock sold": placed == units == live_units(sku),
        "sell-out burst: stock 0, never negative": sku.stock == 0,
    }


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
