"""Statement traces and profiles of the three write hot paths (issue 19 item 3): an order on one hot SKU, a
join into one hot 拼团 team and a cut of one hot 砍价 bargain, plus a join through an invite link (P3).

    scripts/bench hot_paths [--warm 20] [--profiled 100] [--top 15] [--only order,team,cut,link]

Each path is the real request (the P4/P6/P3 POST, full middleware, production settings) sent in process
through Django's test client on a database made as the P-scenarios make theirs (bench/_web.Bench). After
--warm untraced requests, one request is traced: every statement in order with its time from the start of
the request, BEGIN (first statement after autocommit is switched off), SAVEPOINTs and COMMIT, and the
statement that takes the hot row's lock (the first write or FOR UPDATE of the hot row) marked, so that
"held" is the statements and the milliseconds from that lock to COMMIT. Then --profiled requests run under
cProfile; the top functions by cumulative time (the product's own code) and by own time (anything) are
printed. Timings are of one process on a possibly busy machine: read the statement order and the shares.
"""

import argparse
import cProfile
import pstats
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _web import Bench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench hot_paths", description=__doc__)
    parser.add_argument("--warm", type=int, default=20, help="untraced requests before the trace (default 20)")
    parser.add_argument("--profiled", type=int, default=100, help="requests under cProfile (default 100)")
    parser.add_argument("--top", type=int, default=15, help="functions listed per profile (default 15)")
    parser.add_argument("--only", default="order,team,cut,link", help="paths, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    bench = Bench("hotpaths", args)
    try:
        for name in args.only.split(","):
            PATHS[name](bench, args)
    finally:
        bench.close()


# --- tracing ----------------------------------------------------------------------------------------------


class Trace:
    """Every statement of the default connection with its start time, plus BEGIN/COMMIT/ROLLBACK marks."""

    def __init__(self, hot: re.Pattern):
        self.hot = hot
        self.rows: list[tuple[float, str]] = []
        self.t0 = 0.0

    def __enter__(self):
        from django.db import connections

        self.conn = connections["default"]
        self.t0 = time.perf_counter()
        self._patch()
        self.conn.execute_wrappers.append(self._wrapper)
        return self

    def __exit__(self, *exc):
        self.conn.execute_wrappers.remove(self._wrapper)
        for name in ("commit", "rollback", "set_autocommit"):
            self.conn.__dict__.pop(name, None)
        self.total = time.perf_counter() - self.t0

    def _mark(self, what: str) -> None:
        self.rows.append((time.perf_counter() - self.t0, what))

    def _patch(self) -> None:
        conn = self.conn
        real_commit, real_rollback, real_set = conn.commit, conn.rollback, conn.set_autocommit

        def commit():
            real_commit()
            self._mark("COMMIT")

        def rollback():
            real_rollback()
            self._mark("ROLLBACK")

        def set_autocommit(autocommit, *a, **k):
            if not autocommit:
                self._mark("BEGIN")
            return real_set(autocommit, *a, **k)

        conn.commit, conn.rollback, conn.set_autocommit = commit, rollback, set_autocommit

    def _wrapper(self, execute, sql, params, many, context):
        self._mark(sql)
        return execute(sql, params, many, context)

    def report(self, title: str) -> None:
        print(f"\n=== {title}: statement trace of one request ({self.total * 1000:.1f} ms in all)")
        locked_at = None
        statements = 0
        for at, sql in self.rows:
            one = " ".join(sql.split())
            mark = ""
            if sql not in ("BEGIN", "COMMIT", "ROLLBACK"):
                statements += 1
                if locked_at is None and self.hot.search(one):
                    locked_at, mark = (at, statements), "   <-- hot row locked here"
            elif sql in ("COMMIT", "ROLLBACK") and locked_at is not None:
                held = statements - locked_at[1]
                mark = f"   <-- hot row released: held {(at - locked_at[0]) * 1000:.2f} ms over {held} later statements"
                locked_at = None
            label = f"{statements:3d}" if sql not in ("BEGIN", "COMMIT", "ROLLBACK") else "   "
            print(f"  {label} {at * 1000:7.2f} ms  {one[:150]}{mark}")
        print(f"  {statements} statements")


def profile(title: str, send, n: int, top: int) -> None:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(n):
        send(i)
    profiler.disable()
    took = time.perf_counter() - started
    print(f"\n=== {title}: cProfile of {n} requests ({took / n * 1000:.1f} ms a request under the profiler)")
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append((filename, line, func, calls, tottime, cumtime))
    total = max(r[5] for r in rows)
    print("  cumulative, the product's own functions:")
    own = [r for r in rows if r[0].startswith(str(ROOT)) and "/.venv/" not in r[0] and "/bench/" not in r[0]]
    for filename, line, func, calls, _tot, cum in sorted(own, key=lambda r: -r[5])[:top]:
        where = f"{Path(filename).relative_to(ROOT)}:{line} {func}"
        print(f"  {cum / n * 1000:7.2f} ms {cum / total:6.1%}  {calls / n:6.1f}×  {where}")
    print("  own time, anything:")
    for filename, line, func, calls, tot, _cum in sorted(rows, key=lambda r: -r[4])[:top]:
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        print(f"  {tot / n * 1000:7.2f} ms {tot / total:6.1%}  {calls / n:6.1f}×  {short}:{line} {func}")


def run_path(title: str, send, hot: str, args) -> None:
    for i in range(args.warm):
        send(i)
    with Trace(re.compile(hot, re.I)) as trace:
        response = send(args.warm)
    trace.report(title)
    print(f"  answer: {response.status_code} {response.get('Location', '')}")
    profile(title, lambda i: send(args.warm + 1 + i), args.profiled, args.top)


_client = []


def client_for(session_key: str):
    """One test client for every request (each Client loads the middleware anew: WhiteNoise would scan the
    static files per request), signed in as the session's member."""
    from http.cookies import SimpleCookie

    from django.conf import settings
    from django.test import Client

    if not _client:
        _client.append(Client())
    client = _client[0]
    client.cookies = SimpleCookie()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


# --- the paths ----------------------------------------------------------------------------------------------


def _p4_world(bench: Bench, args):
    import p4_hot_row

    n = args.warm + 1 + args.profiled
    group, sku, _burst, campaign, people = p4_hot_row.world(n)
    return group, sku, campaign, people, bench.sessions(people)


def order_path(bench: Bench, args) -> None:
    from p4_hot_row import FORM

    group, sku, _campaign, _people, sessions = _p4_world(bench, args)
    path = f"/m/groups/{group.pk}/checkout/"

    def send(i):
        form = {**FORM, "sku": sku.pk, "qty": 1, "idempotency_key": uuid.uuid4().hex}
        return client_for(sessions[i]).post(path, form)

    run_path("order on one hot SKU (P4)", send, r'UPDATE "?orders_sku"?\b', args)


def team_path(bench: Bench, args) -> None:
    from p4_hot_row import FORM, open_paid_team

    group, _sku, campaign, _people, sessions = _p4_world(bench, args)
    team = open_paid_team(campaign, group)
    path = f"/m/c/{campaign.pk}/teams/{team.pk}/join/"

    def send(i):
        form = {**FORM, "group": group.pk, "idempotency_key": uuid.uuid4().hex}
        return client_for(sessions[i]).post(path, form)

    run_path("join into one hot 拼团 team (P4)", send, r'UPDATE "?orders_sku"?\b', args)


def cut_path(bench: Bench, args) -> None:
    import p6_bargain

    task = p6_bargain.bargain(1000)
    friends = bench.sessions(_seed.members(args.warm + 1 + args.profiled, "hpf"))
    path = p6_bargain.cut_path(task)

    def send(i):
        return client_for(friends[i]).post(path, {})

    run_path("cut of one hot 砍价 bargain (P6)", send, r'UPDATE "?campaigns_bargaintask"?\b', args)


def link_path(bench: Bench, args) -> None:
    shop = _seed.shop()
    links = []
    for i, inviter in enumerate(_seed.members(10, "hpi")):
        group = _seed.group(shop, name=f"宝妈好物群{i}", capacity=10_000)
        _seed.add_members(group, [inviter])
        links.append(_seed.invite_link(group, inviter))
    joiners = bench.sessions(_seed.members(args.warm + 1 + args.profiled, "hpj"))

    def send(i):
        return client_for(joiners[i]).post(f"/m/j/{links[i % len(links)].code}/join/", {})

    hot = r'(UPDATE "?groups_group"?\b|groups_group.* FOR (NO KEY )?UPDATE)'
    run_path("join through an invite link (P3)", send, hot, args)


PATHS = {"order": order_path, "team": team_path, "cut": cut_path, "link": link_path}

if __name__ == "__main__":
    main(sys.argv[1:])
