"""End to end through a real Celery worker and the real Redis broker: the reminder job hands out batches,
a separate worker process sends them, and each reminder exists once."""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.models import Notification
from orders.models import Order, RepurchaseReminder
from orders.reminders import dispatch_due_reminders, refresh_due
from orders.tasks import send_repurchase_reminders
from shequn.models import JobRun
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.database import url_of_test_database
from tests.factories import GroupFactory, ShopFactory, SkuFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
MEMBERS = 5


def wait_for(predicate, *, seconds: float) -> bool:
    tick = threading.Event()
    for _ in range(int(seconds / 0.2)):
        if predicate():
            return True
        tick.wait(0.2)
    return predicate()


@pytest.fixture
def worker(tmp_path):
    """A worker process on a queue of its own, using this test's database."""
    queue = f"test-reminders-{os.getpid()}-{tmp_path.name}"
    env = {**os.environ, "DATABASE_URL": url_of_test_database()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shequn",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield queue, process
    process.terminate()
    process.wait(timeout=30)


def output(process) -> str:
    process.terminate()
    return process.communicate(timeout=30)[0].decode(errors="replace")[-3000:]


def test_a_real_worker_sends_the_batches_the_job_hands_out_once(client, worker):
    queue, process = worker
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    sku = SkuFactory(product__shop=shop)
    transport = DjangoClientTransport(client)
    for _ in range(MEMBERS):
        buyer = make_buyer(group)
        order = order_for(buyer, group, sku)
        pay(order, transport)
        at = timezone.now() - timedelta(days=29)
        Order.objects.filter(pk=order.pk).update(paid_at=at, created_at=at)
        refresh_due(member_id=buyer.pk, product=sku.product)

    def enqueue(ids):
        # Each batch twice, as a redelivery after a lost acknowledgement would.
        for _ in range(2):
            send_repurchase_reminders.apply_async(args=[ids], queue=queue)

    assert dispatch_due_reminders(batch_size=2, enqueue=enqueue) == MEMBERS
    assert wait_for(
        lambda: JobRun.objects.filter(job="repurchase-reminders:batch", finished_at__isnull=False).count() == 6,
        seconds=90,
    ), output(process)
    assert RepurchaseReminder.objects.count() == MEMBERS
    assert Notification.objects.filter(kind="repurchase").count() == MEMBERS
    assert sorted(JobRun.objects.filter(job="repurchase-reminders:batch").values_list("items", flat=True)) == [
        0,
        0,
        0,
        1,
        2,
        2,
    ]
