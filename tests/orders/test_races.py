"""No oversell and one order per idempotency key, under real concurrent transactions; with controls."""

import pytest

from orders import services
from orders.models import Order, Sku
from orders.services import IdempotencyConflict
from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, ShopFactory, SkuFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
RACERS = 10


@pytest.fixture
def scene():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    buyers = [make_buyer(group) for _ in range(RACERS)]
    return group, buyers, SkuFactory(product__shop=shop, stock=3)


def test_racing_buyers_get_exactly_the_stock_there_is(scene):
    group, buyers, sku = scene
    results = race(RACERS, lambda i: order_for(buyers[i], group, sku))
    assert sum(isinstance(r, Order) for r in results) == 3, results
    sku.refresh_from_db()
    assert sku.stock == 0 and Order.objects.count() == 3


def test_control_oversell_without_the_guard(scene, monkeypatch):
    """The same race with the row lock and the conditional decrement replaced by check-then-act."""
    group, buyers, sku = scene
    gate = Gate(RACERS)

    def read_without_lock(ids, *, shop_id):
        return list(Sku.objects.select_related("product").filter(pk__in=ids).order_by("pk"))

    def check_then_act(sku_row, quantity):
        seen = Sku.objects.get(pk=sku_row.pk).stock
        gate.wait()  # everyone has looked before anyone writes
        if seen < quantity:
            return False
        Sku.objects.filter(pk=sku_row.pk).update(stock=seen - quantity)
        return True

    monkeypatch.setattr(services, "_lock_skus", read_without_lock)
    monkeypatch.setattr(services, "_reserve_stock", check_then_act)
    results = race(RACERS, lambda i: order_for(buyers[i], group, sku))

    assert sum(isinstance(r, Order) for r in results) > 3  # oversold: the guard is what prevents it


@pytest.fixture
def lookups_done_first(monkeypatch):
    """Every racer looks the key up (finding nothing) before any of them inserts: the worst interleaving."""
    gate = Gate(RACERS)
    original = services._validate_request

    def validate_then_wait(**kwargs):
        original(**kwargs)
        gate.wait()

    monkeypatch.setattr(services, "_validate_request", validate_then_wait)


def test_same_idempotency_key_racing_makes_one_order(scene, lookups_done_first):
    group, buyers, sku = scene
    Sku.objects.filter(pk=sku.pk).update(stock=100)
    results = race(RACERS, lambda i: order_for(buyers[0], group, sku, key="pay-once"))
    assert all(isinstance(r, Order) for r in results), results
    assert len({r.pk for r in results}) == 1
    sku.refresh_from_db()
    assert sku.stock == 99  # the losers' reservations were rolled back


def test_same_key_racing_with_different_bodies_one_wins_rest_refused(scene, lookups_done_first):
    group, buyers, sku = scene
    Sku.objects.filter(pk=sku.pk).update(stock=100)
    results = race(RACERS, lambda i: order_for(buyers[0], group, sku, quantity=i + 1, key="k"))
    assert sum(isinstance(r, Order) for r in results) == 1
    assert sum(isinstance(r, IdempotencyConflict) for r in results) == RACERS - 1
    assert Order.objects.count() == 1


def test_control_idempotency_without_the_unique_key(scene, lookups_done_first):
    group, buyers, sku = scene
    Sku.objects.filter(pk=sku.pk).update(stock=100)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders_order DROP CONSTRAINT order_idempotency_per_member")
    try:
        race(RACERS, lambda i: order_for(buyers[0], group, sku, key="k"))
        assert Order.objects.filter(idempotency_key="k").count() > 1  # duplicates: the constraint decides
    finally:
        Order.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE orders_order ADD CONSTRAINT order_idempotency_per_member "
                "UNIQUE (member_id, idempotency_key)"
            )
