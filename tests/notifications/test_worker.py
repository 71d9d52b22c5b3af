"""End to end through the real Redis broker and a real Celery worker process: the notification is
committed with its event, the after-commit kick goes through Redis, a separate worker delivers it."""

import os
import subprocess
import sys
import threading

import pytest
from django.db import transaction

from notifications.models import Category, Channel, DeliveryState, Notification, NotificationState
from shequn.celery import app
from tests.builders.notifications import write
from tests.database import url_of_test_database

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, *, seconds: float) -> bool:
    tick = threading.Event()
    for _ in range(int(seconds / 0.2)):
        if predicate():
            return True
        tick.wait(0.2)
    return predicate()


def _delivered(key: str) -> bool:
    notification = Notification.objects.filter(key=key).first()
    return (
        notification is not None
        and notification.state == NotificationState.SENT
        and notification.deliveries.count() == 3  # inbox, SMS, e-mail
        and not notification.deliveries.exclude(state=DeliveryState.SENT).exists()
    )


def test_a_real_worker_delivers_a_committed_notification(shop, customer, tmp_path):
    env = {**os.environ, "DATABASE_URL": url_of_test_database()}
    # The kick goes to the default queue: drop what earlier tests of this run left there for nobody.
    app.control.purge()
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shequn",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        with transaction.atomic():  # the event's transaction; its commit sends the kick through Redis
            write(shop, customer, Category.TRANSACTIONAL, key="order:e2e:paid", title="付款成功")

        assert _wait_for(lambda: _delivered("order:e2e:paid"), seconds=60), log.read_text()[-3000:]
        notification = Notification.objects.get(key="order:e2e:paid")
        # No WeChat: this customer never signed in with WeChat, so the message goes by SMS at once.
        assert set(notification.deliveries.values_list("channel", flat=True)) == {
            Channel.INBOX,
            Channel.SMS,
            Channel.EMAIL,
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    output = log.read_text()
    assert output.count(f"SMS to {customer.phone}") == 1  # the worker's SMS backend (the log) sent it, once
