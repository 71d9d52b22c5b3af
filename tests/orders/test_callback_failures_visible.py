"""A callback receiver that answers 500, or is not there at all, shows after one pump cycle on the jobs
page, the order's page and /healthz. Real HTTP: the receiver is a local server (tests.fakes) or a closed
port; the pump is the Celery task beat runs, called once.

Operators see their own shop's figures only; platform staff see every shop's.
"""

import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import SimulatedCharge, SimulatedNotificationOutbox
from orders.payments.simulated import settle
from orders.services import start_payment
from orders.tasks import deliver_simulated_notifications
from shops.models import OperatorRole
from tests.builders.orders import order_for
from tests.factories import OperatorFactory
from tests.fakes.base import FakeServer, Response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _every_probe_reads_the_outboxes(settings):
    """These tests change an outbox and probe again at once: no figures kept between probes."""
    settings.HEALTH_OUTBOX_CACHE_SECONDS = 0


class Receiver(FakeServer):
    """Our callback endpoint as seen by the provider, answering with `status`."""

    status = 500

    def handle(self, request):
        return Response.text("receiver failed", self.status)


@pytest.fixture
def receiver(settings):
    server = Receiver().start()
    settings.INTERNAL_CALLBACK_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def closed_port(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.INTERNAL_CALLBACK_URL = f"http://127.0.0.1:{port}"  # nothing listens: connection refused
    return port


def paid_at_the_cashier(buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    payment, _url = start_payment(order=order)
    settle(SimulatedCharge.objects.get(reference=payment.provider_ref), succeeded=True)
    return order, payment


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def outbox_row(response, name):
    return next(o for o in response.context["outboxes"] if o.name == name)


def test_a_receiver_answering_500_shows_on_the_jobs_page_the_order_and_healthz(
    client, receiver, buyer, buyer_group, sku, viewer
):
    order, payment = paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()  # one pump cycle
    assert [r.route for r in receiver.requests] == ["/pay/notify/simulated/"]

    page = client_for(viewer).get(reverse("dashboard:jobs"))
    callbacks = outbox_row(page, "payment-callbacks")
    assert callbacks.figures.retrying == 1 and callbacks.figures.last_error == "HTTP 500"
    html = page.content.decode()
    assert "HTTP 500" in html and "payment-callbacks" in html

    order_page = client_for(viewer).get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert payment.provider_ref in order_page and "HTTP 500" in order_page and "失败，等待重试" in order_page
    assert "待付款" in order_page  # the order is still unpaid, and now the operator sees why

    health = client.get("/healthz")
    body = health.json()
    assert body["status"] in ("degraded", "unavailable")  # no worker in the tests: see the next test
    assert "payment-callbacks: 1 failing, being retried" in body["reasons"]
    assert body["outboxes"]["payment-callbacks"]["retrying"] == 1
    assert "receiver failed" not in health.content.decode() and receiver.url not in health.content.decode()


def test_healthz_is_degraded_not_down_when_only_an_outbox_fails(client, receiver, buyer, buyer_group, sku):
    from shequn.tasks import heartbeat

    heartbeat.apply()  # a worker is alive
    assert client.get("/healthz").json()["status"] == "ok"
    paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["ok"] is False


def test_an_unreachable_receiver_shows_the_same_way(client, closed_port, buyer, buyer_group, sku, viewer):
    order, payment = paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()

    callbacks = outbox_row(client_for(viewer).get(reverse("dashboard:jobs")), "payment-callbacks")
    assert callbacks.figures.retrying == 1 and "ConnectionError" in callbacks.figures.last_error
    order_page = client_for(viewer).get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "ConnectionError" in order_page and "失败，等待重试" in order_page
    body = client.get("/healthz").json()
    assert "payment-callbacks: 1 failing, being retried" in body["reasons"]
    assert str(closed_port) not in str(body)


def test_once_the_receiver_answers_the_failure_clears(client, receiver, buyer, buyer_group, sku, viewer):
    order, _payment = paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()
    Receiver.status = 200
    try:
        row = SimulatedNotificationOutbox.objects.get()
        SimulatedNotificationOutbox.objects.filter(pk=row.pk).update(deliver_after=timezone.now())  # retry due
        deliver_simulated_notifications()
    finally:
        Receiver.status = 500
    callbacks = outbox_row(client_for(viewer).get(reverse("dashboard:jobs")), "payment-callbacks")
    assert callbacks.figures.retrying == 0 and callbacks.figures.pending == 0
    order_page = client_for(viewer).get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "已送达" in order_page
    assert not [r for r in client.get("/healthz").json()["reasons"] if r.startswith("payment-callbacks")]


def test_a_callback_given_up_counts_for_a_day(client, receiver, buyer, buyer_group, sku, viewer):
    paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()
    SimulatedNotificationOutbox.objects.update(attempts=8)
    callbacks = outbox_row(client_for(viewer).get(reverse("dashboard:jobs")), "payment-callbacks")
    assert callbacks.figures.failed_24h == 1 and callbacks.figures.retrying == 0
    assert "payment-callbacks: 1 given up in the last 24 h" in client.get("/healthz").json()["reasons"]
    SimulatedNotificationOutbox.objects.update(last_attempt_at=timezone.now() - timedelta(hours=25))
    assert not [r for r in client.get("/healthz").json()["reasons"] if r.startswith("payment-callbacks")]


def test_a_backlog_older_than_the_threshold_is_degraded(client, settings, buyer, buyer_group, sku, viewer):
    settings.OUTBOX_BACKLOG_MAX_AGE = timedelta(seconds=60)
    paid_at_the_cashier(buyer, buyer_group, sku)  # queued; no pump runs
    assert not [r for r in client.get("/healthz").json()["reasons"] if r.startswith("payment-callbacks")]
    SimulatedNotificationOutbox.objects.update(deliver_after=timezone.now() - timedelta(seconds=90))
    reasons = client.get("/healthz").json()["reasons"]
    assert any(r.startswith("payment-callbacks: 1 waiting, the oldest for 9") for r in reasons), reasons
    callbacks = outbox_row(client_for(viewer).get(reverse("dashboard:jobs")), "payment-callbacks")
    assert callbacks.backlog_too_old and callbacks.figures.due == 1 and callbacks.oldest_due_seconds >= 90


def test_operators_see_only_their_shop_and_staff_see_every_shop(receiver, buyer, buyer_group, sku, viewer, other_shop):
    order, _payment = paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()
    stranger = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user

    theirs = client_for(stranger).get(reverse("dashboard:jobs"))
    callbacks = outbox_row(theirs, "payment-callbacks")
    assert callbacks.figures.retrying == 0 and not callbacks.figures.last_error
    assert "HTTP 500" not in theirs.content.decode()
    assert client_for(stranger).get(reverse("dashboard:order_detail", args=[order.pk])).status_code == 404

    stranger.is_staff = True
    stranger.save()
    everyone = outbox_row(client_for(stranger).get(reverse("dashboard:jobs")), "payment-callbacks")
    assert everyone.figures.retrying == 1 and everyone.figures.last_error == "HTTP 500"


def test_anonymous_visitors_and_members_cannot_open_the_jobs_page(client, buyer):
    assert client.get(reverse("dashboard:jobs")).status_code == 302  # to sign in
    client.force_login(buyer)
    response = client.get(reverse("dashboard:jobs"))
    assert response.status_code == 403 and "outboxes" not in (response.context or {})


def test_the_jobs_page_counts_outboxes_in_constant_queries(receiver, buyer, buyer_group, sku, viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(viewer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard:jobs")).status_code == 200
        return len(captured)

    paid_at_the_cashier(buyer, buyer_group, sku)
    deliver_simulated_notifications()
    one = queries()
    for _ in range(5):
        paid_at_the_cashier(buyer, buyer_group, sku)
    SimulatedNotificationOutbox.objects.update(deliver_after=timezone.now())
    deliver_simulated_notifications()
    assert SimulatedNotificationOutbox.objects.exclude(last_error="").count() == 6
    assert queries() == one
