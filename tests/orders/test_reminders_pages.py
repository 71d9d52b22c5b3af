"""The reminders dashboard (per product: sent, re-orders, conversion, members due next) and the member's
one-tap re-order page a reminder links to."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import Delivery, Order, OrderState, RepurchaseReminder
from orders.reminder_views import conversion_rate
from orders.reminders import dispatch_due_reminders, refresh_due, send_reminder_batch
from shops.models import OperatorRole
from tests.builders.orders import make_buyer, order_for, pay
from tests.factories import OperatorFactory, PickupPointFactory, SkuFactory

from .dashboard_support import client_for

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def bought(buyer, group, sku, transport, *, days_ago=0, quantity=1, **kwargs):
    order = order_for(buyer, group, sku, quantity=quantity, **kwargs)
    pay(order, transport)
    if days_ago:
        at = timezone.now() - days_ago * DAY
        Order.objects.filter(pk=order.pk).update(paid_at=at, created_at=at)
        refresh_due(member_id=buyer.pk, product=sku.product)
    return order


def remind(now=None):
    now = now or timezone.now()
    dispatch_due_reminders(now=now, enqueue=lambda ids: send_reminder_batch(ids, now=now))


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- The dashboard ------------------------------------------------------------------------------------


def test_conversion_is_reorders_per_reminder_sent():
    assert conversion_rate(1, 3) == Decimal("33.3")
    assert conversion_rate(0, 0) is None


@pytest.mark.slow
def test_per_product_reminders_reorders_and_conversion(shop, buyer_group, sku, transport, viewer):
    buyers = [make_buyer(buyer_group) for _ in range(4)]
    for b in buyers:
        bought(b, buyer_group, sku, transport, days_ago=33)
    remind(timezone.now() - 5 * DAY)  # four reminders, five days ago
    bought(buyers[0], buyer_group, sku, transport)  # one came back
    later = SkuFactory(product__shop=shop, product__name="婴儿湿巾")
    bought(buyers[1], buyer_group, later, transport, days_ago=25)  # due in 5 days: "due next"

    response = client_for(viewer).get(reverse("dashboard:reminders"))
    assert response.status_code == 200
    rows = {p.pk: p for p in response.context["page"]}
    assert (rows[sku.product_id].reminders_sent, rows[sku.product_id].reorders) == (4, 1)
    assert rows[sku.product_id].conversion == 25
    assert (rows[later.product_id].reminders_sent, rows[later.product_id].due_soon) == (0, 1)
    assert "25.0%" in response.content.decode()


def test_the_product_page_lists_the_members_due_next_soonest_first(shop, buyer_group, sku, transport, viewer):
    first, second = make_buyer(buyer_group), make_buyer(buyer_group)
    bought(first, buyer_group, sku, transport, days_ago=10)
    bought(second, buyer_group, sku, transport, days_ago=20)
    response = client_for(viewer).get(reverse("dashboard:reminder_product", args=[sku.product_id]))
    assert response.status_code == 200
    assert [d.member for d in response.context["dues"]] == [second, first]


@pytest.mark.slow
def test_the_reminder_pages_run_in_constant_queries(shop, buyer_group, transport, operator):
    client = client_for(operator)
    sku = SkuFactory(product__shop=shop)
    bought(make_buyer(buyer_group), buyer_group, sku, transport, days_ago=29)
    remind()
    bought(make_buyer(buyer_group), buyer_group, sku, transport, days_ago=3)
    detail = reverse("dashboard:reminder_product", args=[sku.product_id])
    one_list, one_detail = queries(client, reverse("dashboard:reminders")), queries(client, detail)
    for _ in range(4):
        other = SkuFactory(product__shop=shop)
        bought(make_buyer(buyer_group), buyer_group, other, transport, days_ago=29)
        bought(make_buyer(buyer_group), buyer_group, sku, transport, days_ago=29)
        bought(make_buyer(buyer_group), buyer_group, sku, transport, days_ago=2)
    remind()
    assert RepurchaseReminder.objects.filter(product=sku.product).count() == 5
    assert queries(client, reverse("dashboard:reminders")) == one_list
    assert queries(client, detail) == one_detail


def test_another_shops_product_is_a_404_and_its_numbers_are_not_shown(shop, other_shop, buyer_group, sku, transport):
    bought(make_buyer(buyer_group), buyer_group, sku, transport, days_ago=29)
    remind()
    stranger = client_for(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)
    assert stranger.get(reverse("dashboard:reminder_product", args=[sku.product_id])).status_code == 404
    assert sku.product.name not in stranger.get(reverse("dashboard:reminders")).content.decode()


def test_a_bad_period_falls_back_to_thirty_days(viewer):
    response = client_for(viewer).get(reverse("dashboard:reminders"), {"days": "forever"})
    assert response.status_code == 200
    assert response.context["days"] == 30


# --- One-tap re-order ---------------------------------------------------------------------------------


@pytest.fixture
def reminded(buyer, buyer_group, sku, transport):
    return bought(buyer, buyer_group, sku, transport, days_ago=29, quantity=2)


def test_the_reorder_page_offers_last_times_order(client, buyer, reminded, sku):
    client.force_login(buyer)
    response = client.get(reverse("orders:reorder", args=[sku.product_id]))
    assert response.status_code == 200
    assert [(line["sku"], line["quantity"]) for line in response.context["lines"]] == [(sku, 2)]
    assert reminded.address in response.content.decode()


def test_one_tap_places_the_same_order_and_a_double_tap_places_one(client, buyer, reminded, sku):
    client.force_login(buyer)
    url = reverse("orders:reorder", args=[sku.product_id])
    key = client.get(url).context["idempotency_key"]
    first = client.post(url, {"idempotency_key": key})
    second = client.post(url, {"idempotency_key": key})
    orders = Order.objects.filter(member=buyer).exclude(pk=reminded.pk)
    assert orders.count() == 1
    order = orders.get()
    assert first["Location"] == second["Location"] == reverse("orders:member_order", args=[order.pk])
    assert (order.state, order.source, order.group_id, order.address) == (
        OrderState.PENDING_PAYMENT,
        "repurchase_reminder",
        reminded.group_id,
        reminded.address,
    )
    assert [(line.sku_id, line.quantity) for line in order.lines.all()] == [(sku.pk, 2)]


def test_pickup_orders_are_reordered_to_the_same_pickup_point(client, shop, buyer, buyer_group, sku, transport):
    from orders.services import DeliveryRequest

    point = PickupPointFactory(shop=shop)
    pickup = DeliveryRequest(
        method=Delivery.PICKUP, recipient_name="王芳", recipient_phone="13800138000", pickup_point_id=point.pk
    )
    bought(buyer, buyer_group, sku, transport, days_ago=29, delivery=pickup)
    client.force_login(buyer)
    url = reverse("orders:reorder", args=[sku.product_id])
    client.post(url, {"idempotency_key": client.get(url).context["idempotency_key"]})
    assert Order.objects.filter(member=buyer).latest("pk").pickup_point == point


def test_an_out_of_stock_reorder_shows_why_and_places_nothing(client, buyer, reminded, sku):
    type(sku).objects.filter(pk=sku.pk).update(stock=0)
    client.force_login(buyer)
    response = client.post(reverse("orders:reorder", args=[sku.product_id]), {"idempotency_key": "k1"})
    assert response.status_code == 400
    assert "库存不足" in response.content.decode()
    assert Order.objects.filter(member=buyer).count() == 1


def test_someone_elses_due_product_is_a_404(client, buyer_group, reminded, sku):
    stranger = make_buyer(buyer_group)
    client.force_login(stranger)
    url = reverse("orders:reorder", args=[sku.product_id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"idempotency_key": "k"}).status_code == 404
    assert not Order.objects.filter(member=stranger).exists()


def test_a_member_who_left_the_group_is_told_so(client, buyer, buyer_group, reminded, sku):
    from groups.models import Membership
    from groups.services import leave

    leave(membership=Membership.objects.get(user=buyer, group=buyer_group))
    client.force_login(buyer)
    url = reverse("orders:reorder", args=[sku.product_id])
    response = client.post(url, {"idempotency_key": "k"})
    assert response.status_code == 403
    assert "你已不在" in response.content.decode()
    assert Order.objects.filter(member=buyer).count() == 1


def test_anonymous_visitors_sign_in_first(client, reminded, sku):
    response = client.get(reverse("orders:reorder", args=[sku.product_id]))
    assert response.status_code == 302
    assert reverse("account_request_login_code") in response["Location"]
