"""The early sold-out answer (orders.early): a checkout POST for a SKU flagged sold out is refused from the
flag before the session, the user or CSRF, with no SQL at all; everything else goes the normal way — no flag,
Redis down, a resubmitted form whose order exists, no session cookie, a GET, another URL — and the flag never
sells anything: the database decides every unit."""

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import soldout
from orders.catalog import adjust_stock
from orders.models import Order, OrderLine, Sku
from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, OperatorFactory, SkuFactory, UserFactory
from tests.race import race

pytestmark = pytest.mark.django_db
EARLY = "所选商品已售罄"  # the early page's words (the normal path's page names the SKU instead)


@pytest.fixture
def last_one(shop):
    return SkuFactory(product__shop=shop, product__name="有机米粉", spec="500g", stock=1)


def checkout_url(group):
    return reverse("orders:checkout", args=[group.pk])


def form(sku, key=None):
    return {
        "sku": sku.pk,
        "qty": 1,
        "idempotency_key": key or uuid.uuid4().hex,
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "138 0013 8000",
        "address": "上海市徐汇区漕溪北路 1 号",
        "note": "",
    }


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def sold_out(buyer, group, sku, capture):
    with capture(execute=True):
        order_for(buyer, group, sku)
    assert soldout.first_sold_out([sku.pk]) is not None


def test_a_flagged_skus_checkout_post_is_refused_without_any_sql(
    buyer, buyer_group, last_one, django_capture_on_commit_callbacks
):
    sold_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    client = signed_in(make_buyer(buyer_group), enforce_csrf_checks=True)  # no token: a refusal needs none
    with CaptureQueriesContext(connection) as queries:
        response = client.post(checkout_url(buyer_group), form(last_one))
    assert response.status_code == 409 and EARLY in response.content.decode()
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert response["X-Frame-Options"] == "DENY" and response["Content-Language"] == "zh-hans"
    assert f'href="/m/groups/{buyer_group.pk}/shop/"' in response.content.decode()
    assert "有机米粉" not in response.content.decode()  # the answer checks no membership: it names nothing
    assert Order.objects.count() == 1 and Sku.objects.get(pk=last_one.pk).stock == 0


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, EARLY),
        ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, "The item you chose is sold out"),
        ({"HTTP_ACCEPT_LANGUAGE": "en", "cookie": "zh-hans"}, EARLY),
        ({"cookie": "en"}, "The item you chose is sold out"),
    ],
)
def test_the_answer_speaks_the_cookies_or_the_browsers_language(
    buyer, buyer_group, last_one, django_capture_on_commit_callbacks, headers, words
):
    sold_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    client = signed_in(make_buyer(buyer_group))
    if language := headers.pop("cookie", None):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(checkout_url(buyer_group), form(last_one), **headers)
    assert response.status_code == 409 and words in response.content.decode()


def test_a_resubmitted_form_whose_order_exists_goes_the_normal_way(buyer, buyer_group, last_one):
    client = signed_in(buyer)
    key = uuid.uuid4().hex
    first = client.post(checkout_url(buyer_group), form(last_one, key))
    assert first.status_code == 302
    soldout.mark(last_one.pk, str(last_one))  # as the order's commit did
    with CaptureQueriesContext(connection) as queries:
        again = client.post(checkout_url(buyer_group), form(last_one, key))
    assert again.status_code == 302 and again.url == first.url and len(queries) > 0
    assert Order.objects.count() == 1
    # The same member's next, new form is refused early.
    assert EARLY in client.post(checkout_url(buyer_group), form(last_one)).content.decode()


def test_without_the_flag_or_without_redis_the_database_decides(buyer, buyer_group, shop):
    sku = SkuFactory(product__shop=shop, stock=0)
    client = signed_in(buyer)
    refused = client.post(checkout_url(buyer_group), form(sku))  # no flag: the normal path, which sets it
    assert refused.status_code == 200 and "库存不足" in refused.content.decode()
    assert soldout.first_sold_out([sku.pk]) == str(sku)
    unreachable = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    with override_settings(CACHES=unreachable):
        answer = client.post(checkout_url(buyer_group), form(sku))
    # No flag can be read: the whole normal path, where the stock's conditional UPDATE refuses.
    assert answer.status_code == 200 and "库存不足" in answer.content.decode()
    assert Order.objects.count() == 0 and Sku.objects.get(pk=sku.pk).stock == 0


def test_a_restock_takes_the_early_answer_away_and_orders_succeed_again(
    buyer, buyer_group, last_one, shop, django_capture_on_commit_callbacks
):
    sold_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    client = signed_in(make_buyer(buyer_group))
    assert client.post(checkout_url(buyer_group), form(last_one)).status_code == 409
    with django_capture_on_commit_callbacks() as callbacks:
        adjust_stock(sku=last_one, by=OperatorFactory(shop=shop).user, delta=2)
    assert client.post(checkout_url(buyer_group), form(last_one)).status_code == 409  # not before the commit
    for callback in callbacks:
        callback()
    placed = client.post(checkout_url(buyer_group), form(last_one))
    assert placed.status_code == 302 and "/m/orders/" in placed.url
    assert Sku.objects.get(pk=last_one.pk).stock == 1


def test_nothing_else_is_answered_early(buyer, buyer_group, last_one, shop, django_capture_on_commit_callbacks):
    sold_out(buyer, buyer_group, last_one, django_capture_on_commit_callbacks)
    other = SkuFactory(product__shop=shop, stock=5)
    member = make_buyer(buyer_group)
    # Another SKU's order is placed (and CSRF is checked as ever when a POST goes on).
    strict = signed_in(member, enforce_csrf_checks=True)
    assert strict.post(checkout_url(buyer_group), form(other)).status_code == 403
    client = signed_in(member)
    assert client.post(checkout_url(buyer_group), form(other)).status_code == 302
    # Any line flagged refuses the whole order, as the normal path does.
    both = {**form(other), "sku": [other.pk, last_one.pk], "qty": [1, 1]}
    assert EARLY in client.post(checkout_url(buyer_group), both).content.decode()
    # The checkout page (GET) is the normal path's: it names the SKU to the group's member.
    page = client.get(checkout_url(buyer_group), {"sku": last_one.pk, "qty": 1})
    assert page.status_code == 409 and "「有机米粉 500g」已售罄" in page.content.decode()
    # Signed out (no session cookie): asked to sign in, as ever.
    anonymous = Client().post(checkout_url(buyer_group), form(last_one))
    assert anonymous.status_code == 302 and "login" in anonymous.url
    # A form the view refuses on its own (bad lines) is the view's to answer.
    bad = client.post(checkout_url(buyer_group), {**form(last_one), "qty": "many"})
    assert bad.status_code == 302 and bad.url == reverse("orders:group_shop", args=[buyer_group.pk])
    # A stranger to the group learns nothing of the SKU from the early answer; the normal path is a 404.
    stranger = signed_in(UserFactory())
    refused = stranger.post(checkout_url(buyer_group), form(last_one))
    assert refused.status_code == 409 and "有机米粉" not in refused.content.decode()
    assert stranger.post(checkout_url(buyer_group), form(other)).status_code == 404
    assert OrderLine.objects.filter(sku=last_one).count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_a_sell_out_burst_then_requests_never_sell_past_the_stock():
    """8 members POST the checkout at once for 3 units (the database decides: exactly 3), then every POST
    is refused early and nothing more is sold."""
    shop_group = GroupFactory()
    sku = SkuFactory(product__shop=shop_group.shop, stock=3)
    members = [make_buyer(shop_group) for _ in range(8)]
    clients = [signed_in(member) for member in members]
    answers = race(8, lambda i: clients[i].post(checkout_url(shop_group), form(sku)).status_code)
    assert sorted(answers).count(302) == 3, answers
    assert soldout.first_sold_out([sku.pk]) is not None
    after = race(8, lambda i: clients[i].post(checkout_url(shop_group), form(sku)))
    assert all(a.status_code == 409 and EARLY in a.content.decode() for a in after), after
    assert Sku.objects.get(pk=sku.pk).stock == 0 and Order.objects.count() == 3
