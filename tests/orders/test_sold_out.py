"""The sold-out flag (orders.soldout): set when the last unit goes, cleared whenever stock comes back, and
answered before any order work; the database alone decides what is sold."""

import re
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from orders import soldout
from orders.catalog import adjust_stock
from orders.models import Order, Sku
from orders.services import cancel_order
from tests.builders.orders import order_for
from tests.factories import OperatorFactory, SkuFactory

pytestmark = pytest.mark.django_db
# A sold-out answer: session, user, membership (and, for a submit, its idempotency key) — never a SKU row.
# (The page's inbox badge comes from the cache.)
SOLD_OUT_PAGE_QUERIES = 4
SOLD_OUT_API_QUERIES = 3


@pytest.fixture
def last_one(shop):
    return SkuFactory(product__shop=shop, product__name="有机米粉", spec="500g", stock=1)


def flag(sku):
    return soldout.first_sold_out([sku.pk])


def sell_out(buyer, group, sku, commit):
    with commit(execute=True):
        return order_for(buyer, group, sku)


def test_taking_the_last_unit_flags_the_sku_on_commit(buyer, buyer_group, last_one, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        order_for(buyer, buyer_group, last_one)
    assert flag(last_one) is None  # not before the order commits
    for callback in callbacks:
        callback()
    assert flag(last_one) == "有机米粉 500g"


def test_an_order_that_leaves_stock_sets_no_flag(buyer, buyer_group, shop, django_capture_on_commit_callbacks):
    sku = SkuFactory(product__shop=shop, stock=2)
    sell_out(buyer, buyer_group, sku, django_capture_on_commit_callbacks)
    assert flag(sku) is None


def test_a_restock_clears_the_flag_on_commit(buyer, buyer_group, last_one, shop, django_capture_on_commit_callbacks):
    sell_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    operator = OperatorFactory(shop=shop).user
    with django_capture_on_commit_callbacks() as callbacks:
        adjust_stock(sku=last_one, by=operator, delta=5)
    assert flag(last_one) is not None  # not before the restock commits
    for callback in callbacks:
        callback()
    assert flag(last_one) is None
    order_for(buyer, buyer_group, last_one)  # and ordering works again


def test_an_operator_taking_the_last_units_away_flags_the_sku(last_one, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        adjust_stock(sku=last_one, by=OperatorFactory(shop=shop).user, delta=-1)
    assert flag(last_one) == "有机米粉 500g"


def test_a_cancellation_that_returns_stock_clears_the_flag(
    buyer, buyer_group, last_one, django_capture_on_commit_callbacks
):
    order = sell_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    assert flag(last_one) is not None
    with django_capture_on_commit_callbacks(execute=True):
        cancel_order(order=order, by=buyer)
    assert flag(last_one) is None
    assert Sku.objects.get(pk=last_one.pk).stock == 1


def test_a_missing_flag_means_the_normal_path_which_sets_it_again(buyer, buyer_group, shop):
    sku = SkuFactory(product__shop=shop, stock=0)
    assert flag(sku) is None
    with pytest.raises(Exception, match="库存不足"):
        order_for(buyer, buyer_group, sku)
    assert flag(sku) == str(sku)  # the refusal read stock 0: later orders get the cheap answer
    with pytest.raises(Exception, match="已售罄"):
        order_for(buyer, buyer_group, sku)


def test_a_stale_flag_costs_only_a_refusal(buyer, buyer_group, shop):
    """A flag left over from an instant before a restock refuses an order and changes nothing; once gone
    (cleared by the next restock or expired), the conditional UPDATE decides as always."""
    sku = SkuFactory(product__shop=shop, stock=5)
    soldout.mark(sku.pk, str(sku))
    with pytest.raises(Exception, match="已售罄"):
        order_for(buyer, buyer_group, sku)
    assert Sku.objects.get(pk=sku.pk).stock == 5 and not Order.objects.exists()
    cache.delete_many([soldout._key(sku.pk)])
    order_for(buyer, buyer_group, sku)
    assert Sku.objects.get(pk=sku.pk).stock == 4


def checkout_url(group):
    return reverse("orders:checkout", args=[group.pk])


def shipping(sku, key):
    return {
        "sku": sku.pk,
        "qty": 1,
        "idempotency_key": key,
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "138 0013 8000",
        "address": "上海市徐汇区漕溪北路 1 号",
        "note": "",
    }


def test_the_sold_out_page_is_answered_cheaply_without_the_sku_row(
    client, buyer, buyer_group, last_one, django_capture_on_commit_callbacks
):
    """The checkout page (GET) names the SKU for the group's member; a submit is answered earlier still, from
    the flag alone (orders.early; tests/orders/test_sold_out_early.py), without the name."""
    sell_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    client.force_login(buyer)
    for method, data, words in (
        ("get", {"sku": last_one.pk, "qty": 1}, "「有机米粉 500g」已售罄"),
        ("post", shipping(last_one, uuid.uuid4().hex), "所选商品已售罄"),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(checkout_url(buyer_group), data)
        assert response.status_code == 409
        assert words in response.content.decode()
        assert len(queries) <= SOLD_OUT_PAGE_QUERIES, [q["sql"] for q in queries]
        assert not [q for q in queries if re.search(r'"orders_(sku|product)"', q["sql"])]


def test_a_resubmitted_page_whose_order_was_placed_still_finds_its_order(
    client, buyer, buyer_group, last_one, django_capture_on_commit_callbacks
):
    client.force_login(buyer)
    key = uuid.uuid4().hex
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(checkout_url(buyer_group), shipping(last_one, key))
    assert first.status_code == 302 and flag(last_one) is not None
    again = client.post(checkout_url(buyer_group), shipping(last_one, key))
    assert again.status_code == 302 and again.url == first.url
    assert Order.objects.count() == 1


def test_the_api_answers_sold_out_cheaply(buyer, buyer_group, last_one, django_capture_on_commit_callbacks):
    placed = sell_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    api = APIClient()
    api.force_authenticate(buyer)
    body = {
        "lines": [{"sku": last_one.pk, "quantity": 1}],
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "13800138000",
        "address": "上海市徐汇区漕溪北路 1 号",
    }
    url = reverse("api-my-group-orders", args=[buyer_group.pk])
    with CaptureQueriesContext(connection) as queries:
        response = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="new-key")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines"
    assert "已售罄" in response.json()["errors"][0]["message"]
    assert len(queries) <= SOLD_OUT_API_QUERIES, [q["sql"] for q in queries]
    assert not [q for q in queries if re.search(r'"orders_(sku|product)"', q["sql"])]
    # the key that placed the order still answers it
    assert placed.idempotency_key
