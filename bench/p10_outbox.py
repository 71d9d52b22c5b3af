"""P10 — the notification outbox delivered to a local fake channel.

A fake message provider runs as a real HTTP server on a free local port (tests/fakes/base.FakeServer, as the
tests' fake providers do); the bench's channel backend posts each message to it over a kept-alive
connection. Measured in one run against a real PostgreSQL:

  ours      `notifications.services.deliver_due` over N notifications written to the outbox (half order
            messages, half marketing: the rules decided at release), until none is left: releases in
            batches (the members' locks and the cap counts one statement each per batch), claims deliveries
            with SKIP LOCKED, sends each through the backend, marks each chunk's sent ones in one UPDATE;
  baseline  the same N messages posted straight to the fake provider by one client: its own rate.

Target (issue 19): ours ≥ 0.5× the baseline's rate. Invariant: every notification delivered exactly once
(the provider received each delivery key once, and every delivery ended sent).

    scripts/bench p10_outbox [--notifications N] [--keep]

The script makes its own database on the server of DATABASE_URL (dropped at the end unless --keep).
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import Measure, drop_database, make_database, print_measures, timed  # noqa: E402

ID = "P10"
TITLE = "notification outbox delivery to a local fake channel"
FAKE_URL = "P10_FAKE_CHANNEL"  # the environment variable naming the fake provider's address


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=20_000, help="notifications (default 20,000)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args(argv)


class Poster:
    """One kept-alive HTTP connection per thread to the fake provider, as a provider SDK keeps."""

    local = threading.local()

    @classmethod
    def post(cls, payload: dict) -> None:
        connection = getattr(cls.local, "connection", None)
        if connection is None:
            host, port = os.environ[FAKE_URL].removeprefix("http://").split(":")
            connection = cls.local.connection = http.client.HTTPConnection(host, int(port), timeout=10)
        body = json.dumps(payload, ensure_ascii=False).encode()
        connection.request("POST", "/send", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"fake provider answered {response.status}")


def fake_backend_class():
    from notifications.channels import WechatBackend

    class FakeChannelBackend(WechatBackend):
        """Reaches every member; sends each message to the fake provider (what a real backend does)."""

        def can_reach(self, user) -> bool:  # noqa: ARG002 (the backend interface)
            return True

        def send(self, message) -> None:
            Poster.post({"key": message.key, "to": message.user.pk, "title": message.title, "body": message.body})

    return FakeChannelBackend


def fake_provider():
    from tests.fakes.base import FakeServer, Response

    class Provider(FakeServer):
        def handle(self, request):
            return Response.json({"errcode": 0, "msgid": request.json().get("key")})

    provider = Provider()
    # The handler writes its headers and body apart: with Nagle's algorithm on, each answer would wait for
    # the client's delayed ACK (40 ms), and the "provider" would measure TCP timers rather than itself.
    provider._server.RequestHandlerClass.disable_nagle_algorithm = True
    return provider.start()


def seed(n: int):
    from django.db import transaction

    from accounts.models import User
    from notifications.services import Outgoing, notify_many
    from shops.models import Shop

    shop = Shop.objects.create(name="基准店", slug=f"bench-p10-{os.getpid()}")
    people = User.objects.bulk_create(
        [User(username=f"p10-{i}", display_name=f"会员{i}", password="!") for i in range(n)], batch_size=5000
    )
    for start in range(0, n, 5000):
        with transaction.atomic():
            notify_many(
                [
                    Outgoing(
                        shop_id=shop.pk,
                        user_id=member.pk,
                        category="transactional" if i % 2 else "marketing",
                        kind="order_paid" if i % 2 else "bench",
                        key=f"p10:{member.pk}",
                        title="付款成功" if i % 2 else "本周新品",
                        body="您的订单已付款，我们会尽快发货。",
                        url="/m/orders/",
                    )
                    for i, member in enumerate(people[start : start + 5000], start)
                ]
            )


def run(argv) -> list[Measure]:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("P10 needs DATABASE_URL (PostgreSQL): run it with scripts/bench")
    name, url = make_database(base_url, "p10")
    os.environ["DATABASE_URL"] = url
    os.environ["CACHE_KEY_PREFIX"] = prefix = f"shequnbenchp10{os.getpid()}"  # the inbox counts' cache keys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequn.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from shequn.celery import app as celery_app

    provider = fake_provider()
    os.environ[FAKE_URL] = provider.url
    queue = f"bench-p10-{os.getpid()}"
    celery_app.conf.task_default_queue = queue  # the outbox's kicks: this run's queue, deleted at the end
    celery_app.loader.import_default_modules()
    try:
        call_command("migrate", verbosity=0)
        module = sys.modules[__name__]
        module.FakeChannelBackend = fake_backend_class()
        settings.NOTIFICATION_BACKENDS = {"wechat": f"{module.__name__}.FakeChannelBackend"}
        n = args.notifications
        print(f"P10: writing {n:,} notifications to the outbox…", flush=True)
        seed(n)
        return measure(provider, n)
    finally:
        connections.close_all()
        provider.stop()
        if os.environ.get("REDIS_URL"):
            redis = celery_app.connection_for_write().default_channel.client
            redis.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
            keys = list(redis.scan_iter(match=f"{prefix}:*", count=1000))
            for start in range(0, len(keys), 1000):
                redis.unlink(*keys[start : start + 1000])
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(base_url, name)


def measure(provider, n: int) -> list[Measure]:
    from django.utils import timezone

    from notifications.models import Delivery, DeliveryState
    from notifications.services import deliver_due

    # Tomorrow at noon, Shanghai time: outside the default quiet hours, whatever the hour of the run.
    noon = datetime.combine(timezone.localdate() + timedelta(days=1), clock(12), tzinfo=timezone.get_default_timezone())

    def pump():
        while deliver_due(now=noon, limit=1000).items:
            pass

    _none, ours_seconds = timed(pump)
    received = Counter(r.json()["key"] for r in provider.calls("/send"))
    expected = set(
        f"n{pk}:wechat" for pk in Delivery.objects.filter(channel="wechat").values_list("notification_id", flat=True)
    )
    provider.requests.clear()

    def direct():
        for i in range(n):
            Poster.post(
                {"key": f"direct:{i}", "to": i, "title": "付款成功", "body": "您的订单已付款，我们会尽快发货。"}
            )

    _none, base_seconds = timed(direct)
    checks = {
        "every notification has its delivery": len(expected) == n,
        "each delivery received exactly once": set(received) == expected and set(received.values()) == {1},
        "every delivery ended sent": not Delivery.objects.exclude(state=DeliveryState.SENT).exists(),
    }
    notes = (
        f"{n:,} notifications: ours {ours_seconds:.1f} s, the fake provider alone {base_seconds:.1f} s; "
        f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(notes, flush=True)
    return [
        Measure(
            id=ID,
            name="outbox delivery to a local fake channel",
            figure=n / ours_seconds,
            baseline=n / base_seconds,
            unit="msgs/s",
            baseline_name="the fake channel's own rate, one client",
            target=0.5,
            invariants=checks,
            notes=notes,
        )
    ]


if __name__ == "__main__":
    started = time.perf_counter()
    print_measures(run(sys.argv[1:]))
    print(f"P10 done in {time.perf_counter() - started:.0f} s")
