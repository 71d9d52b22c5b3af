"""No oversell and one order per idempotency key, under real concurrent transactions; with controls."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from orders import services, soldout
from orders.catalog import adjust_stock
from orders.models import Order, OrderState, Sku
from orders.services import IdempotencyConflict
from shequn import hooks, locks
from tests.builders.orders import SHIPPING, make_buyer, order_for
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, SkuFactory
from tests.race import Gate, lock_elsewhere, race

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
    """The same race with the conditional decrement replaced by check-then-act."""
    group, buyers, sku = scene
    gate = Gate(RACERS)

    def check_then_act(sku_row, quantity):
        seen = Sku.objects.get(pk=sku_row.pk).stock
        gate.wait()  # everyone has looked before anyone writes
        if seen < quantity:
            return False
        Sku.objects.filter(pk=sku_row.pk).update(stock=seen - quantity)
        return True

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


def _two_line_order(buyer, group, first, second):
    return services.place_order(
        member=buyer,
        group=group,
        lines=[services.LineRequest(first.pk, 1), services.LineRequest(second.pk, 1)],
        delivery=SHIPPING,
        idempotency_key=uuid.uuid4().hex,
    )


def test_multi_sku_orders_in_opposite_line_orders_neither_deadlock_nor_oversell(scene):
    """Half the racers ask for (A, B), half for (B, A): the stock is taken in primary-key order whatever the
    request's order, so no two orders wait on each other's rows, and each SKU sells exactly its stock."""
    group, buyers, a = scene
    b = SkuFactory(product__shop=group.shop, stock=3)
    results = race(RACERS, lambda i: _two_line_order(buyers[i], group, *((a, b) if i % 2 else (b, a))))
    assert not [r for r in results if isinstance(r, Exception) and "库存不足" not in str(r)], results
    assert sum(isinstance(r, Order) for r in results) == 3
    assert list(Sku.objects.filter(pk__in=[a.pk, b.pk]).values_list("stock", flat=True)) == [0, 0]


def _place_probing_the_sku(group, buyer, sku) -> dict[str, str]:
    """Place an order inside a transaction, probing the SKU row from another connection on the way."""
    seen = {}

    def placing(order):
        seen["placing"] = lock_elsewhere(Sku, sku.pk)

    def created(order):
        seen["created"] = lock_elsewhere(Sku, sku.pk)

    hooks.order_placing.connect(placing, priority=1)
    hooks.order_created.connect(created, priority=1)
    try:
        with transaction.atomic():
            order_for(buyer, group, sku)
            seen["placed"] = lock_elsewhere(Sku, sku.pk)
    finally:
        hooks.order_placing.disconnect(placing)
        hooks.order_created.disconnect(created)
    return seen


def test_the_sku_row_is_free_until_the_stock_is_taken_last(scene):
    """The referrer lookup, the order's rows and its order_created receivers run with the SKU row unlocked;
    the stock's UPDATE is the order's last statement and holds the row from there to COMMIT."""
    group, buyers, sku = scene
    seen = _place_probing_the_sku(group, buyers[0], sku)
    assert seen["placing"] == "free" and seen["created"] == "free", seen
    assert seen["placed"].startswith("locked"), seen


def test_control_stock_taken_where_it_is_asked_for_is_held_under_the_receivers(scene, monkeypatch):
    group, buyers, sku = scene
    monkeypatch.setattr(locks, "take_last", lambda rank, write: write())
    seen = _place_probing_the_sku(group, buyers[0], sku)
    assert seen["placing"] == "free" and seen["created"].startswith("locked"), seen


def test_cancels_and_orders_racing_on_one_sku_neither_deadlock_nor_oversell(scene):
    """A cancel gives the stock back by its last statement, as an order takes it: mixed, they only wait."""
    group, buyers, sku = scene
    Sku.objects.filter(pk=sku.pk).update(stock=RACERS // 2)
    placed = [order_for(buyer, group, sku) for buyer in buyers[: RACERS // 2]]

    def act(i):
        if i % 2:
            return services.cancel_order(order=placed[i // 2], by=None)
        return order_for(buyers[RACERS // 2 + i // 2], group, sku)

    results = race(RACERS, act)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, ValidationError)], results
    sku.refresh_from_db()
    live = Order.objects.filter(state=OrderState.PENDING_PAYMENT).count()
    assert sku.stock >= 0 and sku.stock + live == RACERS // 2


@pytest.fixture
def limited(scene):
    group, buyers, sku = scene
    Sku.objects.filter(pk=sku.pk).update(stock=100, per_member_limit=2)
    return group, buyers[0], sku


def test_one_member_racing_orders_never_pass_the_per_member_limit(limited):
    group, buyer, sku = limited
    results = race(RACERS, lambda i: order_for(buyer, group, sku))
    assert sum(isinstance(r, Order) for r in results) == 2, results
    assert all("限购" in str(r) for r in results if not isinstance(r, Order))
    sku.refresh_from_db()
    assert sku.stock == 98


def test_control_per_member_limit_without_the_member_lock(limited, monkeypatch):
    """With the (SKU, member) lock replaced by a gate every racer passes before any counts, the count is
    check-then-act and the limit is exceeded: the lock is what keeps it."""
    group, buyer, sku = limited
    gate = Gate(RACERS)
    monkeypatch.setattr(services.locks, "lock", lambda namespace, key, **kwargs: gate.wait())
    results = race(RACERS, lambda i: order_for(buyer, group, sku))
    assert sum(isinstance(r, Order) for r in results) > 2


def test_sell_out_flag_restock_and_sell_out_again_never_oversell(scene):
    """Racers take the 3 units and the flag goes up on commit; a restock of 2 takes it down on commit; the
    next race takes exactly those 2. The flag only refuses early: the stock's UPDATE decides."""
    group, buyers, sku = scene
    first = race(RACERS, lambda i: order_for(buyers[i], group, sku))
    assert sum(isinstance(r, Order) for r in first) == 3
    assert soldout.first_sold_out([sku.pk]) == str(Sku.objects.get(pk=sku.pk))

    adjust_stock(sku=sku, by=OperatorFactory(shop=group.shop).user, delta=2)
    assert soldout.first_sold_out([sku.pk]) is None

    second = race(RACERS, lambda i: order_for(buyers[i], group, sku))
    assert sum(isinstance(r, Order) for r in second) == 2, second
    assert Sku.objects.get(pk=sku.pk).stock == 0 and Order.objects.count() == 5
    assert soldout.first_sold_out([sku.pk]) is not None
