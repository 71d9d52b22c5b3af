"""P11 — 秒杀: orders on one hot flash-sale SKU against pgbench's single-hot-row conditional UPDATE, and the
flash sale's sold-out answer against a bare Django hello, on the same workers.

Orders: each round --orders fresh members of one group, signed in (sessions made before the run), POST the
real 立即抢购 form (CSRF token, group, delivery, idempotency key) of one running flash sale whose stock cap
is larger than the whole run, --connections at a time through the asyncio client: every order takes a unit
of the SKU and of the campaign's cap (two conditional UPDATEs) and is checked against the per-member limit.
Baseline, right after each: `pgbench -c <workers> -T --seconds` of
`UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0`.

The ceiling: the bare Django hello on the same workers, in the same rounds as the orders and pgbench. A
flash order is a request through Django and so costs at least a hello: when hello ÷ pgbench is below the
orders' target on this machine, no flash order can reach it here, whatever the order path does (on 2
cores the web tier's CPU is spent before the database's hot row is). The hold: after the run, once the
Celery queue is drained, --hold orders of a third sale are placed in this process one at a time, each
timed from the start of the SKU's stock UPDATE (the hot row's lock) to the end of its COMMIT; the notes
give the median and the rate the row alone would admit at that hold (1 ÷ median), which is what the
order path owes the hot row.

Sold out: a second flash sale of --burst units is sold out by a burst of 2 × --burst members at once (it
must sell exactly --burst); then --members members POST its 立即抢购 form with wrk for --seconds a round,
answered from the sold-out flag (409, the short 已抢光 page) without reading the campaign's or the SKU's row;
baseline: /_bench/hello.

Invariants (from the database afterwards): the hot sale's cap counter = its live units = the successful
POSTs, and SKU stock + sold = the initial stock; the burst sold exactly its cap, never more; nothing was
sold by the sold-out run; every sold-out answer was the 409 page.
"""

import argparse
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, csrf_pair, fire, pgbench_hot_row, web_options  # noqa: E402

ID = "P11"
TITLE = "秒杀: hot flash-sale SKU vs pgbench hot-row UPDATE; its sold-out answer vs bare Django hello"
ORDERS_TARGET = 0.25
SOLD_OUT_TARGET = 0.5
STOCK = 1_000_000
FORM = {
    "delivery": "shipping",
    "recipient_name": "王芳",
    "recipient_phone": "13800138000",
    "address": "上海市徐汇区漕溪北路 1 号",
}


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P11", description=__doc__))
    parser.add_argument("--orders", type=int, default=150, help="flash orders per round (default 150)")
    parser.add_argument("--burst", type=int, default=30, help="units of the sold-out sale (default 30)")
    parser.add_argument("--members", type=int, default=50, help="members the sold-out requests rotate over")
    parser.add_argument("--hold", type=int, default=200, help="orders timed in process for the hold (default 200)")
    args = parser.parse_args(argv)
    if args.pgbouncer:
        parser.error("P11 has no --pgbouncer run yet (P3, P4 and P6 have)")
    bench = Bench("p11", args)
    try:
        return bench.variants(lambda web: measure(bench, args, web=web))
    finally:
        bench.close()


def flash_sale(shop, sku, *, cap: int, name: str):
    from django.utils import timezone

    from campaigns import services
    from campaigns.models import CampaignType

    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=None,
        type=CampaignType.FLASH_SALE,
        name=name,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=1),
        sku=sku,
        stock_cap=cap,
        per_member_limit=1,
        settings={"flash_price": "9.90", "pay_minutes": 15},
        hook_title="整点秒杀",
    )
    return services.schedule_campaign(campaign=campaign, by=None)


def measure(bench: Bench, args, web: int) -> list[Measure]:
    """One run on `web` gunicorn processes and as many Celery workers (each with a world of its own)."""
    suffix = "" if web == 1 else f" ×{web} processes"
    n, rounds = args.orders, args.rounds
    shop = _seed.shop()
    group = _seed.group(shop, capacity=10_000)  # the most a group may hold (shequn.bounds)
    _product, sku = _seed.product(shop, stock=STOCK, name="秒杀米粉")
    _product, small_sku = _seed.product(shop, stock=STOCK, name="限量米粉")
    hot = flash_sale(shop, sku, cap=n * (rounds + 1) + 100, name="整点秒杀 米粉")
    small = flash_sale(shop, small_sku, cap=args.burst, name="限量秒杀 米粉")
    people = _seed.members(n * (rounds + 1) + 2 * args.burst + args.members, "p11m")
    _seed.add_members(group, people)
    sessions = bench.sessions(people)
    form = {**FORM, "group": group.pk}
    hot_path, small_path = f"/m/c/{hot.pk}/flash/buy/", f"/m/c/{small.pk}/flash/buy/"
    batches = [
        [bench.post(hot_path, sessions[r * n + i], {**form, "idempotency_key": uuid.uuid4().hex}) for i in range(n)]
        for r in range(rounds + 1)
    ]
    offset = n * (rounds + 1)
    burst_sessions = sessions[offset : offset + 2 * args.burst]
    sold_out_rows = _sold_out_rows(small_path, group, sessions[offset + 2 * args.burst :])
    answers = []
    clients = args.workers * web
    with bench.serving(web=web, celery=web):
        answers += bench.fire(batches[0][: n // 4])[0]

        def orders(r):
            got, rate = bench.fire(batches[r + 1])
            answers.extend(got)
            return rate

        hot_row = lambda _r: pgbench_hot_row(bench.db_url, clients=clients, seconds=args.seconds, tmp=bench.tmp)  # noqa: E731
        hello = lambda _r: bench.get_rate([("/_bench/hello", "")])  # noqa: E731
        medians = bench.rounds({"flash orders": orders, "pgbench hot row": hot_row, "hello": hello})

        burst_answers, _rate = bench.fire(
            [bench.post(small_path, key, {**form, "idempotency_key": uuid.uuid4().hex}) for key in burst_sessions]
        )
        burst_placed = sum(a.status == 302 and "/m/orders/" in a.location for a in burst_answers)
        bench.warm([("/_bench/hello", "")] + sold_out_rows)
        mix_answers = fire(bench.servers.urls(), [_as_request(row) for row in sold_out_rows], connections=10)[0]
        mix = {
            status: sum(a.status == status for a in mix_answers) for status in sorted({a.status for a in mix_answers})
        }
        sold_out = bench.rounds(
            {
                "sold-out answer": lambda _r: bench.get_rate(sold_out_rows, check=False),
                "hello": lambda _r: bench.get_rate([("/_bench/hello", "")]),
            }
        )
        bench.drain_celery()
        held = _hold(shop, group, args.hold)  # once the worker is idle: a busy worker's CPU would be timed too

    placed = sum(a.status == 302 and "/m/orders/" in a.location for a in answers)
    return [
        Measure(
            id=ID,
            name=f"flash orders on one hot SKU{suffix}",
            figure=medians["flash orders"],
            baseline=medians["pgbench hot row"],
            unit="orders/s",
            baseline_name=f"pgbench hot-row UPDATE, {clients} clients",
            target=ORDERS_TARGET,
            invariants=_hot_invariants(hot, sku, placed, len(answers)),
            notes=f"{len(answers)} orders sent, {placed} placed; {held.note}",
        ),
        Measure(
            id=ID,
            name=f"the ceiling here: a bare hello on the same workers{suffix}",
            figure=medians["hello"],
            baseline=medians["pgbench hot row"],
            unit="req/s",
            baseline_name=f"pgbench hot-row UPDATE, {clients} clients",
            target=ORDERS_TARGET,
            notes="no request through Django is cheaper than this one: below the target here, no flash order "
            "can reach it on this machine",
        ),
        Measure(
            id=ID,
            name=f"flash sale sold out: the 已抢光 answer{suffix}",
            figure=sold_out["sold-out answer"],
            baseline=sold_out["hello"],
            unit="req/s",
            baseline_name=f"bare Django hello{suffix}",
            target=SOLD_OUT_TARGET,
            invariants=_sold_out_invariants(small, small_sku, burst_placed, args.burst, mix),
            notes=f"burst: {len(burst_answers)} members at {args.burst} units, {burst_placed} placed; "
            f"{len(sold_out_rows)} at once answered {', '.join(f'{k}× {s}' for s, k in mix.items())}",
        ),
    ]


@dataclass
class _Hold:
    seconds: list[float]

    @property
    def note(self) -> str:
        if not self.seconds:
            return "hold not measured"
        median = statistics.median(self.seconds)
        return (
            f"the SKU row held {median * 1e6:,.0f} µs an order (median of {len(self.seconds)}, UPDATE to COMMIT, "
            f"in process: the row alone would admit {1 / median:,.0f} orders/s)"
        )


def _hold(shop, group, n: int) -> _Hold:
    """Place n flash orders of a sale of their own in this process, one at a time, and time each from the
    start of the SKU's stock UPDATE (which takes the row's lock) to the end of its COMMIT."""
    from django.db import connection

    from campaigns.types.flash_sale import kind as flash
    from orders.services import DeliveryRequest

    if n <= 0:
        return _Hold([])
    _product, sku = _seed.product(shop, stock=STOCK, name="计时米粉")
    sale = flash_sale(shop, sku, cap=n, name="计时秒杀 米粉")
    people = _seed.members(n, "p11h")
    _seed.add_members(group, people)
    delivery = DeliveryRequest(**_seed.SHIPPING)
    table = type(sku)._meta.db_table
    stock_update = (f"UPDATE {table} ", f"UPDATE {connection.ops.quote_name(table)} ")  # raw SQL or the ORM's
    locked_at: list[float] = []

    def watch(execute, sql, params, many, context):
        if not locked_at and sql.startswith(stock_update):
            locked_at.append(time.perf_counter())
        return execute(sql, params, many, context)

    commit = connection.commit
    seconds = []

    def timed_commit():
        commit()
        if locked_at:
            seconds.append(time.perf_counter() - locked_at[0])

    connection.commit = timed_commit  # the atomic block's COMMIT of this connection
    try:
        with connection.execute_wrapper(watch):
            for person in people:
                locked_at.clear()
                key = uuid.uuid4().hex
                flash.buy(campaign=sale, member=person, group=group, delivery=delivery, idempotency_key=key)
    finally:
        del connection.commit
    if len(seconds) != n:
        raise RuntimeError(f"the hold was timed for {len(seconds)} of {n} orders: the stock UPDATE was not seen")
    return _Hold(seconds)


def _live_units(campaign) -> int:
    from django.db.models import Sum

    from campaigns.models import CampaignOrder

    live = CampaignOrder.objects.filter(campaign=campaign, released_at__isnull=True)
    return live.aggregate(n=Sum("units"))["n"] or 0


def _hot_invariants(campaign, sku, placed: int, sent: int) -> dict[str, bool]:
    campaign.refresh_from_db()
    sku.refresh_from_db()
    live = _live_units(campaign)
    return {
        "cap counter = live units = placed": campaign.stock_used == live == placed,
        "never above the cap": campaign.stock_used <= campaign.stock_cap,
        "SKU stock + sold = initial": sku.stock + live == STOCK,
        "every order POST placed an order": placed == sent,
    }


def _sold_out_invariants(campaign, sku, burst_placed: int, burst: int, mix: dict) -> dict[str, bool]:
    campaign.refresh_from_db()
    sku.refresh_from_db()
    live = _live_units(campaign)
    return {
        "burst sold exactly the cap (no oversell)": burst_placed == burst == live == campaign.stock_used,
        "nothing sold after the sell-out": sku.stock + live == STOCK,
        "every sold-out answer the 409 page": set(mix) == {409},
    }


def _sold_out_rows(path: str, group, sessions: list[str]) -> list[tuple]:
    rows = []
    for key in sessions:
        cookie, token = csrf_pair()
        form = {**FORM, "group": group.pk, "csrfmiddlewaretoken": token, "idempotency_key": uuid.uuid4().hex}
        rows.append(("POST", path, _seed.session_cookie(key, cookie), urlencode(form)))
    return rows


def _as_request(row):
    from urllib.parse import parse_qsl

    from _web import Request

    _method, path, cookie, body = row
    cookies = dict(part.split("=", 1) for part in cookie.split("; "))
    return Request("POST", path, cookies, parse_qsl(body))


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
