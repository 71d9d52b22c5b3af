"""Who may see and do what on the catalog, order and after-sales pages.

Every URL of orders/dashboard_urls.py is looped over (a new URL without an entry here fails the
coverage tests): another shop's objects answer 404, a viewer's POSTs are all refused, anonymous
visitors are sent to sign in. Each refusal has a control: the same request by this shop's operator works.
"""

import pytest
from django.urls import reverse

from orders.fulfilment import Destination, owe_item
from orders.models import Delivery
from orders.services import open_case, request_refund
from shops.models import OperatorRole
from shops.tenancy import SESSION_SHOP_KEY
from tests.builders.orders import order_for, pay
from tests.factories import OperatorFactory, PickupPointFactory, ProductFactory, SkuFactory

from .dashboard_support import client_for, dashboard_patterns, snapshot, takes_pk, url_of

pytestmark = pytest.mark.django_db

# What each URL's pk names.
OBJECT_OF = {
    "product_edit": "product",
    "sku_create": "product",
    "sku_edit": "sku",
    "sku_stock": "sku",
    "pickup_point_edit": "point",
    "order_detail": "paid_order",
    "order_ship": "paid_order",
    "order_cancel": "pending_order",
    "order_refund": "paid_order",
    "order_refund_approve": "requested_order",
    "order_refund_part": "paid_order",
    "order_refund_reject": "requested_order",
    "case_detail": "case",
    "case_close": "case",
    "reminder_product": "product",
    "fulfilment_hand_over": "owed_item",
}
# Valid input for every write, so that a refusal is about who asks, never about what was sent.
WRITE_DATA = {
    "product_create": {"name": "新商品", "usage_cycle_days": 30, "offered_to_all_groups": "on", "is_active": "on"},
    "product_edit": {"name": "改名商品", "usage_cycle_days": 30, "offered_to_all_groups": "on"},
    "sku_create": {"spec": "新规格", "price": "9.90", "stock": 5, "is_active": "on"},
    "sku_edit": {"spec": "改规格", "price": "19.90", "is_active": "on"},
    "sku_stock": {"delta": 5},
    "pickup_points": {"name": "新自提点", "address": "某路 1 号", "is_active": "on"},
    "pickup_point_edit": {"name": "改名自提点", "address": "某路 2 号"},
    "order_ship": {"tracking_number": "SF100"},
    "order_cancel": {"reason": "取消"},
    "order_refund": {"reason": "退款"},
    "order_refund_approve": {},
    "order_refund_part": {"amount": "1.00", "reason": "差价", "key": "k1"},
    "order_refund_reject": {"reason": "不退"},
    "case_close": {"resolution": "已处理", "resolved": "yes"},
    "fulfilment_hand_over": {"tracking_number": "SF200"},
}
# Pages that answer GET; a viewer may read these.
VIEWER_PAGES = {
    "orders",
    "orders_export",
    "order_detail",
    "products",
    "pickup_points",
    "cases",
    "case_detail",
    "reminders",
    "reminder_product",
    "fulfilment",
}
OPERATOR_PAGES = {"product_create", "product_edit", "pickup_point_edit"}

PATTERNS = {p.name: p for p in dashboard_patterns()}
PK_NAMES = sorted(name for name, p in PATTERNS.items() if takes_pk(p))


def test_every_object_url_names_its_object():
    assert set(OBJECT_OF) == set(PK_NAMES)


def test_every_url_is_a_page_or_a_write():
    assert set(PATTERNS) == VIEWER_PAGES | OPERATOR_PAGES | set(WRITE_DATA)


@pytest.fixture
def objects(shop, buyer, buyer_group, transport):
    """One object of each kind in this shop (shop A), in the state its actions need."""
    sku = SkuFactory(product__shop=shop, spec="500g")
    pending = order_for(buyer, buyer_group, sku)
    paid = order_for(buyer, buyer_group, sku)
    pay(paid, transport)
    requested = order_for(buyer, buyer_group, sku)
    pay(requested, transport)
    request_refund(order=requested, by=buyer, reason="不想要了")
    point = PickupPointFactory(shop=shop)
    owed = owe_item(
        shop_id=shop.pk,
        member=buyer,
        source="test",
        key="owed-1",
        label="赠品",
        destination=Destination(method=Delivery.PICKUP, pickup_point_id=point.pk),
    )
    return {
        "product": ProductFactory(shop=shop),
        "sku": sku,
        "point": point,
        "owed_item": owed,
        "pending_order": pending,
        "paid_order": paid,
        "requested_order": requested,
        "case": open_case(order=paid, member=buyer, reason="包装破损"),
    }


@pytest.fixture
def stranger(other_shop):
    """An owner of shop B: the highest role there, nothing here."""
    return client_for(OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user)


def _url(name, objects):
    pattern = PATTERNS[name]
    return url_of(pattern, objects[OBJECT_OF[name]].pk if takes_pk(pattern) else None)


def _methods(name):
    return (["GET"] if name in VIEWER_PAGES | OPERATOR_PAGES else []) + (["POST"] if name in WRITE_DATA else [])


def _request(client, method, url, name):
    return client.get(url) if method == "GET" else client.post(url, WRITE_DATA[name])


# --- Another shop's objects ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PK_NAMES)
def test_another_shops_operator_gets_404_on_every_object_url(name, objects, stranger, operator):
    url = _url(name, objects)
    before = snapshot()
    for method in _methods(name):
        assert _request(stranger, method, url, name).status_code == 404, (method, url)
    assert snapshot() == before
    # Control: this shop's operator reaches the same URL, and a write does change something.
    mine = client_for(operator)
    for method in _methods(name):
        assert _request(mine, method, url, name).status_code in (200, 302), (method, url)
    if name in WRITE_DATA:
        assert snapshot() != before


def test_a_user_working_in_shop_b_cannot_reach_shop_a_until_they_switch(shop, other_shop, objects):
    user = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    OperatorFactory(shop=other_shop, user=user, role=OperatorRole.OWNER)
    client = client_for(user)
    session = client.session
    session[SESSION_SHOP_KEY] = other_shop.pk
    session.save()
    url = reverse("dashboard:order_detail", args=[objects["paid_order"].pk])
    assert client.get(url).status_code == 404
    assert objects["paid_order"].number not in client.get(reverse("dashboard:orders")).content.decode()
    client.post(reverse("dashboard:switch_shop"), {"shop": shop.pk})
    assert client.get(url).status_code == 200


# --- Viewer -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VIEWER_PAGES))
def test_a_viewer_reads_every_list_and_detail(name, objects, viewer):
    assert client_for(viewer).get(_url(name, objects)).status_code == 200


@pytest.mark.parametrize("name", sorted(OPERATOR_PAGES))
def test_a_viewer_gets_no_edit_forms(name, objects, viewer):
    assert client_for(viewer).get(_url(name, objects)).status_code == 403


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_post_by_a_viewer_is_refused_and_changes_nothing(name, objects, viewer, operator):
    url = _url(name, objects)
    before = snapshot()
    response = client_for(viewer).post(url, WRITE_DATA.get(name, {}))
    assert response.status_code == (403 if name in WRITE_DATA else 405)
    assert snapshot() == before
    if name in WRITE_DATA:  # control: an operator's same POST writes
        assert client_for(operator).post(url, WRITE_DATA[name]).status_code in (200, 302)
        assert snapshot() != before


# --- Anonymous and seatless ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_anonymous_is_sent_to_sign_in(client, name, objects):
    url = _url(name, objects)
    before = snapshot()
    for response in (client.get(url), client.post(url, WRITE_DATA.get(name, {}))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert snapshot() == before


def test_a_member_without_a_seat_gets_the_no_shop_page(client, buyer, objects):
    client.force_login(buyer)
    for name in ["orders", "order_detail", "orders_export"]:
        response = client.get(_url(name, objects))
        assert response.status_code == 403
        assert objects["paid_order"].number not in response.content.decode()
