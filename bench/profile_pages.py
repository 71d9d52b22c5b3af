"""Profiles of the pages of P1, P2 and P7 in one process (issue 19 item 3): each page requested N times
through Django's own WSGI handler (the product's full middleware, production settings, DEBUG=0) by
signed-in members, under cProfile (this process's CPU time); prints each page's queries per request and
its top functions by cumulative time.

    DATABASE_URL=… REDIS_URL=… DEBUG=0 SECRET_KEY=x ALLOWED_HOSTS='*' \
        .venv/bin/python bench/profile_pages.py [--requests 500] [--top 25] [--only home,group]

It makes its data in DATABASE_URL's database, which must be migrated and disposable (bench/_seed.py
leaves its rows there). Not a benchmark: cProfile's overhead is large and uneven; read the shares.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")

import django  # noqa: E402

django.setup()

import _seed  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def world(members: int) -> dict:
    from referrals import leaderboards as lb

    shop = _seed.shop()
    group = _seed.group(shop, capacity=members + 10)
    product, sku = _seed.product(shop, stock=10**6)
    people = _seed.members(members, "prof")
    _seed.add_members(group, people)
    for i, member in enumerate(people):
        for _ in range(1 + i % 5):
            _seed.order(member, group, sku)
    board = lb.Board.of(shop_id=shop.pk, metric=lb.Metric.CAMPAIGN_ACTS)
    client = lb.redis_client()
    client.zadd(board.key, {str(p.pk): random.randint(1, 500) for p in people})
    return {"shop": shop, "group": group, "product": product, "members": people}


def sessions(users) -> list[str]:
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for user in users:
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", default="")
    args = parser.parse_args()

    w = world(args.members)
    keys = sessions(w["members"])
    g, p = w["group"].pk, w["product"].pk
    pages = {
        "robots": ("/robots.txt", False),
        "home": ("/", False),
        "healthz": ("/healthz", False),
        "group": (f"/m/groups/{g}/", True),
        "product": (f"/m/groups/{g}/shop/{p}/", True),
        "orders": ("/m/orders/", True),
        "leaderboard": ("/m/leaderboard/", True),
    }
    if args.only:
        pages = {k: v for k, v in pages.items() if k in args.only.split(",")}
    handler = WSGIHandler()
    factory = RequestFactory()

    def environ(path: str, i: int, signed_in: bool) -> dict:
        env = factory._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", SERVER_NAME="localhost")
        env["wsgi.input"] = io.BytesIO(b"")
        if signed_in:
            env["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={keys[i % len(keys)]}"
        return env

    def get(path: str, i: int, signed_in: bool) -> int:
        status = []
        body = handler(environ(path, i, signed_in), lambda s, _headers: status.append(s))
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
        return int(status[0].split()[0])

    for name, (path, signed_in) in pages.items():
        for i in range(20):  # warm: templates compiled, connections open
            assert get(path, i, signed_in) in (200, 503), (name, path)
        with CaptureQueriesContext(connection) as q:
            get(path, 0, signed_in)
        queries = [x["sql"][:110] for x in q.captured_queries]
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(args.requests):
            get(path, i, signed_in)
        wall = (time.perf_counter() - start) / args.requests * 1000
        cpu = (time.process_time() - cpu) / args.requests * 1000
        # CPU time of this process only: on a shared machine the wall clock mostly measures the queue for
        # the cores (PostgreSQL's own work shows in the query count, not here).
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for i in range(args.requests):
            get(path, i, signed_in)
        profile.disable()
        print(
            f"\n=== {name} {path}: {cpu:.2f} ms CPU ({wall:.2f} ms wall) a request unprofiled, {len(queries)} queries"
        )
        for sql in queries:
            print("   ", sql)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    main()
