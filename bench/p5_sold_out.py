"""P5 — ordering a sold-out SKU, against a bare Django hello on the same workers.

--members members of a group, each signed in (sessions made in the store before the run), POST the real
checkout form (CSRF token, delivery, idempotency key) for a SKU whose stock is 0, with wrk for --seconds a
round; baseline: /_bench/hello. Invariants afterwards: no order was placed for the SKU, its stock is
still 0, and every refusal is a page — the checkout again (200) or the short sold-out page (409) — not a
redirect or an error. wrk counts the 409s as "non-2xx/3xx" and says so; that is the product's answer.
"""

import argparse
import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, csrf_pair, web_options  # noqa: E402

ID = "P5"
TITLE = "ordering a sold-out SKU vs bare Django hello"
TARGET = 0.5


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P5", description=__doc__))
    parser.add_argument("--members", type=int, default=50, help="signed-in members the requests rotate over")
    args = parser.parse_args(argv)
    if args.pgbouncer:
        parser.error("P5 has no --pgbouncer run yet (P3, P4 and P6 have)")
    bench = Bench("p5", args)
    try:
        shop = _seed.shop()
        group = _seed.group(shop, capacity=args.members + 10)
        _product, sku = _seed.product(shop, stock=0)
        people = _seed.members(args.members, "p5m")
        _seed.add_members(group, people)
        rows = requests(group, sku, bench.sessions(people))
        measures = [measure(bench, rows, web=1)]
        if args.scale:
            two = measure(bench, rows, web=2)
            measures.append(
                Measure(
                    id=ID,
                    name="scale-out: ordering a sold-out SKU ×2 processes",
                    figure=two.figure,
                    baseline=measures[0].figure,
                    unit="req/s",
                    baseline_name="the same on one process and one worker",
                    target=1.0,
                    invariants=two.invariants,
                    notes=f"baseline ratio {two.baseline / measures[0].baseline:.2f} (hello ×2 vs ×1)",
                )
            )
        return measures
    finally:
        bench.close()


def requests(group, sku, sessions: list[str]) -> list[tuple]:
    rows = []
    for key in sessions:
        cookie, token = csrf_pair()
        form = {
            "csrfmiddlewaretoken": token,
            "sku": sku.pk,
            "qty": 1,
            "delivery": "shipping",
            "recipient_name": "王芳",
            "recipient_phone": "13800138000",
            "address": "上海市徐汇区漕溪北路 1 号",
            "idempotency_key": uuid.uuid4().hex,
        }
        path = f"/m/groups/{group.pk}/checkout/"
        rows.append(("POST", path, _seed.session_cookie(key, cookie), urlencode(form)))
    return rows, sku


def measure(bench: Bench, rows_and_sku, web: int) -> Measure:
    from orders.models import OrderLine, Sku

    rows, sku = rows_and_sku
    suffix = "" if web == 1 else f" ×{web} processes"
    with bench.serving(web=web, celery=web):
        from _web import Request, fire

        probe = fire(bench.servers.urls(), [Request("POST", rows[0][1], {}, None)], connections=1)[0][0]
        answer = fire(bench.servers.urls(), [_as_request(rows[0])], connections=1)[0][0]
        bench.warm([("/_bench/hello", "")] + rows)
        # What the refusals answer when they come all at once (wrk only counts non-2xx/3xx).
        burst = fire(bench.servers.urls(), [_as_request(row) for row in rows], connections=len(rows))[0]
        mix = {status: sum(a.status == status for a in burst) for status in sorted({a.status for a in burst})}
        medians = bench.rounds(
            {
                "sold-out order": lambda _round: bench.get_rate(rows),
                "hello": lambda _round: bench.get_rate([("/_bench/hello", "")]),
            }
        )
    sku = Sku.objects.get(pk=sku.pk)
    return Measure(
        id=ID,
        name=f"ordering a sold-out SKU{suffix}",
        figure=medians["sold-out order"],
        baseline=medians["hello"],
        unit="req/s",
        baseline_name=f"bare Django hello{suffix}",
        target=TARGET,
        invariants={
            "no order placed": not OrderLine.objects.filter(sku=sku).exists(),
            "stock still 0": sku.stock == 0,
            # The checkout page again (200), or the short sold-out page (409, orders.soldout's flag):
            # never a redirect to an order, an error or a 5xx.
            "every refusal a page (200 or 409)": {answer.status, *mix} <= {200, 409},
        },
        notes=f"one refusal answered {answer.status}; without CSRF {probe.status}; "
        f"{len(rows)} at once answered {', '.join(f'{n}× {status}' for status, n in mix.items())}",
    )


def _as_request(row):
    from urllib.parse import parse_qsl

    from _web import Request

    _method, path, cookie, body = row
    cookies = dict(part.split("=", 1) for part in cookie.split("; "))
    return Request("POST", path, cookies, parse_qsl(body))


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
