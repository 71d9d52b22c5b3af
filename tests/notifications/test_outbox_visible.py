"""An SMS provider that is down shows after one pump cycle on the jobs page (the shop's own figures,
with the error) and makes /healthz degraded; a message held for quiet hours is not a backlog."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import Category, Delivery, Notification
from notifications.tasks import deliver_notifications
from shops.models import OperatorRole
from tests.builders.notifications import write
from tests.factories import OperatorFactory

from .backends import DownSmsBackend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _every_probe_reads_the_outboxes(settings):
    """These tests change an outbox and probe again at once: no figures kept between probes."""
    settings.HEALTH_OUTBOX_CACHE_SECONDS = 0


def notifications_outbox(user):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("dashboard:jobs"))
    return next(o for o in response.context["outboxes"] if o.name == "notifications"), response.content.decode()


def test_a_provider_outage_shows_on_the_jobs_page_and_healthz(client, settings, shop, customer, viewer, other_shop):
    settings.SMS_BACKEND = "tests.notifications.backends.DownSmsBackend"
    DownSmsBackend.calls = 0
    write(shop, customer, Category.TRANSACTIONAL)
    deliver_notifications()  # one pump cycle

    outbox, html = notifications_outbox(viewer)
    assert outbox.figures.retrying == 1 and "provider busy" in outbox.figures.last_error
    assert "provider busy" in html
    assert "notifications: 1 failing, being retried" in client.get("/healthz").json()["reasons"]

    stranger = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user
    theirs, html = notifications_outbox(stranger)
    assert theirs.figures.retrying == 0 and "provider busy" not in html


def test_a_delivery_that_failed_for_good_counts_for_a_day(client, settings, shop, customer, viewer):
    settings.SMS_BACKEND = "tests.notifications.backends.DownSmsBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    write(shop, customer, Category.TRANSACTIONAL)
    services.deliver_due()
    outbox, _html = notifications_outbox(viewer)
    assert outbox.figures.failed_24h == 1 and outbox.figures.retrying == 0
    assert "notifications: 1 given up in the last 24 h" in client.get("/healthz").json()["reasons"]
    Delivery.objects.update(last_attempt_at=timezone.now() - timedelta(hours=25))
    assert not [r for r in client.get("/healthz").json()["reasons"] if r.startswith("notifications")]


def test_a_message_held_for_quiet_hours_is_not_a_backlog(client, settings, shop, customer, viewer):
    settings.OUTBOX_BACKLOG_MAX_AGE = timedelta(seconds=60)
    write(shop, customer, Category.MARKETING)
    Notification.objects.update(deliver_after=timezone.now() + timedelta(hours=8))  # held until morning
    outbox, _html = notifications_outbox(viewer)
    assert outbox.figures.pending == 1 and outbox.figures.due == 0
    Notification.objects.update(deliver_after=timezone.now() - timedelta(minutes=5))  # due, no worker took it
    outbox, _html = notifications_outbox(viewer)
    assert outbox.figures.due == 1 and outbox.backlog_too_old
    assert any(r.startswith("notifications: 1 waiting") for r in client.get("/healthz").json()["reasons"])
