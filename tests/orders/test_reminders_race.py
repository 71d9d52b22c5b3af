"""Reminders under real concurrent transactions: two workers with the same batch send each reminder once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from orders import reminders
from orders.models import Order, RepurchaseDue, RepurchaseReminder
from orders.reminders import refresh_due, send_reminder_batch
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.factories import GroupFactory, ShopFactory, SkuFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
MEMBERS = 6
RACERS = 3


@pytest.fixture
def due_ids(client):
    """MEMBERS members whose purchase 29 days ago makes them due for a reminder now."""
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
    return list(RepurchaseDue.objects.order_by("pk").values_list("pk", flat=True))


def test_workers_racing_on_the_same_batch_send_each_reminder_once(due_ids):
    now = timezone.now()
    results = race(RACERS, lambda i: send_reminder_batch(due_ids, now=now))
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == MEMBERS
    assert RepurchaseReminder.objects.count() == MEMBERS
    assert Notification.objects.filter(kind="repurchase").count() == MEMBERS


def test_control_without_the_row_lock_the_unique_reminder_row_decides(due_ids, monkeypatch):
    """Every racer reads the rows unlocked and all look before any writes: they collide on the unique
    (member, product, cycle) row, which the bulk INSERT skips (ON CONFLICT DO NOTHING); one batch wins,
    the others write no reminder and so no notification: nothing is sent twice."""
    gate, seen = Gate(RACERS), []

    def claim_without_lock(ids, now):
        rows = list(RepurchaseDue.objects.select_related("product").filter(pk__in=ids).order_by("pk"))
        seen.append(len(rows))
        gate.wait()
        return rows

    monkeypatch.setattr(reminders, "_claim", claim_without_lock)
    monkeypatch.setattr(reminders, "LOCK_CHUNK", MEMBERS)
    now = timezone.now()
    results = race(RACERS, lambda i: send_reminder_batch(due_ids, now=now))
    assert seen == [MEMBERS] * RACERS  # the race happened: every racer saw every row waiting
    assert sorted(results) == [0] * (RACERS - 1) + [MEMBERS], results
    assert RepurchaseReminder.objects.count() == MEMBERS
    assert Notification.objects.filter(kind="repurchase").count() == MEMBERS
