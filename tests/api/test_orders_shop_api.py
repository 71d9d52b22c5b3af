"""The operator side of the orders API: products, SKUs, stock, pickup points, the order list and its
filters, shipping, cancelling and refunds, after-sales — and who may do it (shop scope, viewers)."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from groups import services as group_services
from orders import services
from orders.models import (
    AfterSalesCase,
    CaseState,
    Order,
    OrderState,
    OrderTransition,
    PickupPoint,
    Product,
    ProductImage,
    Refund,
    Sku,
)
from referrals.models import ReferralEdge
from tests.builders.orders import SHIPPING, DjangoClientTransport, deliver, order_for, pay
from tests.factories import GroupFactory, PickupPointFactory, ProductFactory, SkuFactory, UserFactory

from .conftest import errors_of


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


@pytest.fixture
def product(shop):
    return ProductFactory(shop=shop, name="有机米粉")


@pytest.fixture
def sku(product):
    return SkuFactory(product=product, spec="500g", price=Decimal("39.90"), stock=10)


def buyer_in(group, **user_fields):
    user = UserFactory(**user_fields)
    group_services.add_member(group=group, user=user, by=None)
    return user


@pytest.fixture
def buyer(group):
    return buyer_in(group, display_name="王芳")


@pytest.fixture
def paid_order(buyer, group, sku, transport):
    order = order_for(buyer, group, sku)
    pay(order, transport)
    assert order.state == OrderState.PAID
    return order


def stock_of(sku) -> int:
    return Sku.objects.get(pk=sku.pk).stock


def png(name="p.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (500, 400), "green").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- Products -------------------------------------------------------------------------------------


def test_list_the_shops_products_with_skus_and_groups(operator_api, shop, other_shop, product, sku, group):
    hidden = SkuFactory(product=product, spec="试用装", is_active=False)
    chosen = ProductFactory(shop=shop, name="本群专供", offered_to_all_groups=False)
    chosen.groups.add(group)
    ProductFactory(shop=other_shop)

    body = operator_api.get(reverse("api-shop-products")).json()

    assert body["count"] == 2
    assert [p["name"] for p in body["results"]] == ["本群专供", "有机米粉"]
    assert body["results"][0]["groups"] == [{"id": group.pk, "name": group.name}]
    assert [(s["id"], s["stock"], s["is_active"]) for s in body["results"][1]["skus"]] == [
        (sku.pk, 10, True),
        (hidden.pk, 100, False),
    ]


def test_create_a_product_for_chosen_groups(operator_api, shop, group):
    response = operator_api.post(
        reverse("api-shop-products"),
        {
            "name": "有机米粉",
            "category": "辅食",
            "usage_cycle_days": 20,
            "offered_to_all_groups": False,
            "groups": [group.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    product = Product.objects.get(pk=response.json()["id"])
    assert (product.shop, product.name, product.category, product.usage_cycle_days) == (shop, "有机米粉", "辅食", 20)
    assert not product.offered_to_all_groups and list(product.groups.all()) == [group]
    assert product.is_active
    assert response.json()["skus"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "米粉", "usage_cycle_days": 0}, "usage_cycle_days"),
        ({"name": "米粉", "offered_to_all_groups": False}, "groups"),
        ({"name": "米粉", "offered_to_all_groups": False, "groups": ["foreign"]}, "groups"),
        ({"name": "米" * 81}, "name"),
    ],
    ids=["no-name", "blank-name", "zero-cycle", "no-groups", "foreign-group", "name-too-long"],
)
def test_an_invalid_product_is_refused_on_its_field(operator_api, other_shop, body, field):
    if body.get("groups") == ["foreign"]:
        body = {**body, "groups": [GroupFactory(shop=other_shop).pk]}

    response = operator_api.post(reverse("api-shop-products"), body, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == field
    assert not Product.objects.exists()


def test_patch_a_product_changes_only_what_is_sent(operator_api, shop, product, group):
    product.offered_to_all_groups = False
    product.description = "原介绍"
    product.save()
    product.groups.add(group)
    other_group = GroupFactory(shop=shop)
    url = reverse("api-shop-product", args=[product.pk])

    response = operator_api.patch(url, {"is_active": False}, format="json")
    assert response.status_code == 200
    product.refresh_from_db()
    assert not product.is_active and product.description == "原介绍" and list(product.groups.all()) == [group]

    response = operator_api.patch(url, {"groups": [other_group.pk]}, format="json")
    assert response.status_code == 200
    assert list(product.groups.all()) == [other_group]
    assert response.json()["groups"] == [{"id": other_group.pk, "name": other_group.name}]


def test_add_an_image_to_a_product(operator_api, product):
    response = operator_api.post(
        reverse("api-shop-product-images", args=[product.pk]), {"image": png()}, format="multipart"
    )

    assert response.status_code == 201
    image = ProductImage.objects.get(product=product)
    assert image.thumbnail.width <= 360
    assert response.json()["images"][0]["url"].startswith("http://testserver/media/products/")


def test_a_file_that_is_not_an_image_is_refused_on_the_image_field(operator_api, product):
    bad = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")

    response = operator_api.post(
        reverse("api-shop-product-images", args=[product.pk]), {"image": bad}, format="multipart"
    )

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "image"
    assert not ProductImage.objects.exists()


# --- SKUs and stock -------------------------------------------------------------------------------


def test_add_a_sku(operator_api, product):
    response = operator_api.post(
        reverse("api-shop-product-skus", args=[product.pk]),
        {"spec": "1kg", "price": "69.00", "stock": 5, "per_member_limit": 2},
        format="json",
    )

    assert response.status_code == 201
    sku = Sku.objects.get(pk=response.json()["id"])
    assert (sku.product, sku.spec, sku.price, sku.stock, sku.per_member_limit) == (
        product,
        "1kg",
        Decimal("69.00"),
        5,
        2,
    )
    assert response.json()["price"] == "69.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spec": "500g", "price": "10.00", "stock": 1}, "spec"),  # the product has a 500g already
        ({"spec": "1kg", "price": "0", "stock": 1}, "price"),
        ({"spec": "1kg", "price": "abc", "stock": 1}, "price"),
        ({"spec": "1kg", "price": "9.999", "stock": 1}, "price"),
        ({"spec": "1kg", "price": "10.00", "stock": -1}, "stock"),
        ({"spec": "1kg", "price": "10.00"}, "stock"),
        ({"spec": "1kg", "price": "10.00", "stock": 1, "per_member_limit": 0}, "per_member_limit"),
    ],
    ids=["duplicate-spec", "zero-price", "no-number", "three-decimals", "negative-stock", "no-stock", "zero-limit"],
)
def test_an_invalid_sku_is_refused_on_its_field(operator_api, product, sku, body, field):
    response = operator_api.post(reverse("api-shop-product-skus", args=[product.pk]), body, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == field
    assert list(Sku.objects.all()) == [sku]


def test_patch_a_sku_never_sets_stock(operator_api, sku):
    response = operator_api.patch(
        reverse("api-shop-sku", args=[sku.pk]), {"price": "35.00", "stock": 999}, format="json"
    )

    assert response.status_code == 200
    sku.refresh_from_db()
    assert (sku.price, sku.stock, sku.spec) == (Decimal("35.00"), 10, "500g")


def test_adjust_stock_up_and_down_but_never_below_zero(operator_api, sku):
    url = reverse("api-shop-sku-stock", args=[sku.pk])

    up = operator_api.post(url, {"delta": 5}, format="json")
    down = operator_api.post(url, {"delta": -12}, format="json")
    too_far = operator_api.post(url, {"delta": -4}, format="json")
    zero = operator_api.post(url, {"delta": 0}, format="json")

    assert (up.status_code, up.json()["stock"]) == (200, 15)
    assert (down.status_code, down.json()["stock"]) == (200, 3)
    assert too_far.status_code == zero.status_code == 400
    assert errors_of(too_far)[0]["field"] == errors_of(zero)[0]["field"] == "delta"
    assert stock_of(sku) == 3


# --- Pickup points --------------------------------------------------------------------------------


def test_add_list_and_change_pickup_points(operator_api, shop, other_shop):
    PickupPointFactory(shop=other_shop)
    created = operator_api.post(
        reverse("api-shop-pickup-points"),
        {"name": "望京店", "address": "望京街 1 号", "opening_hours": "9:00–21:00"},
        format="json",
    )
    point = PickupPoint.objects.get(pk=created.json()["id"])

    changed = operator_api.patch(reverse("api-shop-pickup-point", args=[point.pk]), {"is_active": False}, format="json")
    listed = operator_api.get(reverse("api-shop-pickup-points")).json()

    assert created.status_code == 201 and point.shop == shop
    assert changed.status_code == 200
    point.refresh_from_db()
    assert not point.is_active and point.address == "望京街 1 号"
    assert [p["id"] for p in listed["results"]] == [point.pk]


def test_a_pickup_point_needs_a_name_and_address(operator_api):
    response = operator_api.post(reverse("api-shop-pickup-points"), {"name": "望京店", "address": " "}, format="json")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "address"
    assert not PickupPoint.objects.exists()


# --- The order list -------------------------------------------------------------------------------


def test_the_order_list_and_its_filters(operator_api, shop, group, sku, transport, other_shop):
    other_group = GroupFactory(shop=shop)
    other_product_sku = SkuFactory(product__shop=shop)
    wang = buyer_in(group, display_name="王芳")
    li = buyer_in(other_group, display_name="李雷")
    paid = order_for(wang, group, sku)
    pay(paid, transport)
    pending = order_for(li, other_group, other_product_sku)
    old = order_for(wang, group, sku)
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    foreign_group = GroupFactory(shop=other_shop)
    order_for(buyer_in(foreign_group), foreign_group, SkuFactory(product__shop=other_shop))
    url = reverse("api-shop-orders")
    today = timezone.localdate()

    def ids(**params):
        response = operator_api.get(url, params)
        assert response.status_code == 200, response.json()
        return [o["id"] for o in response.json()["results"]]

    assert ids() == [pending.pk, paid.pk, old.pk]
    assert ids(state="paid") == [paid.pk]
    assert ids(group=other_group.pk) == [pending.pk]
    assert ids(member="李雷") == [pending.pk]
    assert ids(product=sku.product_id) == [paid.pk, old.pk]
    assert ids(date_from=str(today)) == [pending.pk, paid.pk]
    assert ids(date_to=str(today - timedelta(days=1))) == [old.pk]
    assert ids(group=foreign_group.pk) == []
    page = operator_api.get(url, {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    row = operator_api.get(url, {"state": "paid"}).json()["results"][0]
    assert row["member"] == {"id": wang.pk, "public_name": "王芳"}
    assert row["group"] == {"id": group.pk, "name": group.name}
    assert row["total"] == "39.90" and row["lines"][0]["product_name"] == "有机米粉"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_to"),
        ({"group": "x"}, "group"),
    ],
)
def test_bad_filters_are_refused_on_their_field(operator_api, params, field):
    response = operator_api.get(reverse("api-shop-orders"), params)

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == field


@pytest.mark.slow
def test_the_order_list_runs_in_a_constant_number_of_queries(operator_api, shop, group, transport):
    skus = SkuFactory.create_batch(3, product__shop=shop)
    referrer = UserFactory()

    def add_orders(n):
        for _ in range(n):
            member = buyer_in(group)
            ReferralEdge.objects.create(shop=shop, inviter=referrer, invitee=member)
            order = services.place_order(
                member=member,
                group=group,
                idempotency_key="k",
                delivery=SHIPPING,
                lines=[services.LineRequest(s.pk, 1) for s in skus],
            )
            pay(order, transport)

    url = reverse("api-shop-orders")
    add_orders(1)
    few = queries(operator_api, url)
    add_orders(9)
    many = queries(operator_api, url)

    assert operator_api.get(url).json()["count"] == 10
    assert few == many


def test_an_order_in_detail_with_its_history(operator_api, paid_order, buyer):
    body = operator_api.get(reverse("api-shop-order", args=[paid_order.pk])).json()

    assert body["number"] == paid_order.number
    assert [(t["from_state"], t["to_state"], t["by"]) for t in body["transitions"]] == [
        ("", "pending_payment", {"id": buyer.pk, "public_name": "王芳"}),
        ("pending_payment", "paid", None),
    ]
    assert [p["state"] for p in body["payments"]] == ["succeeded"]
    assert [t["to_state"] for t in body["allowed_transitions"]] == ["shipped", "refund_requested"]
    assert body["recipient_phone"] == SHIPPING.recipient_phone


# --- Shipping, cancelling, refunds ----------------------------------------------------------------


def test_ship_a_paid_order_with_its_tracking_number(operator_api, operator, paid_order):
    url = reverse("api-shop-order-ship", args=[paid_order.pk])

    missing = operator_api.post(url, {}, format="json")
    shipped = operator_api.post(url, {"tracking_number": "SF1234567"}, format="json")
    again = operator_api.post(url, {"tracking_number": "SF1234567"}, format="json")

    assert missing.status_code == 400
    assert errors_of(missing)[0]["field"] == "tracking_number"
    assert shipped.status_code == 200
    assert (shipped.json()["state"], shipped.json()["tracking_number"]) == ("shipped", "SF1234567")
    assert OrderTransition.objects.get(order=paid_order, to_state=OrderState.SHIPPED).by == operator
    assert again.status_code == 409
    assert errors_of(again)[0]["code"] == "invalid_transition"


def test_an_unpaid_order_cannot_be_shipped(operator_api, buyer, group, sku):
    order = order_for(buyer, group, sku)

    response = operator_api.post(
        reverse("api-shop-order-ship", args=[order.pk]), {"tracking_number": "SF1"}, format="json"
    )

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT


def test_cancel_an_unpaid_order_but_not_a_paid_one(operator_api, operator, buyer, group, sku, paid_order):
    pending = order_for(buyer, group, sku, quantity=2)
    assert stock_of(sku) == 7

    cancelled = operator_api.post(
        reverse("api-shop-order-cancel", args=[pending.pk]), {"reason": "缺货"}, format="json"
    )
    refused = operator_api.post(reverse("api-shop-order-cancel", args=[paid_order.pk]), {}, format="json")

    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert stock_of(sku) == 9
    assert refused.status_code == 409
    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.PAID


def test_refund_a_paid_order_and_the_stock_comes_back_once_confirmed(operator_api, paid_order, sku, transport):
    url = reverse("api-shop-order-refund", args=[paid_order.pk])

    missing = operator_api.post(url, {}, format="json")
    response = operator_api.post(url, {"reason": "缺货退款"}, format="json")

    assert missing.status_code == 400
    assert errors_of(missing)[0]["field"] == "reason"
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "refund_requested"
    assert [(r["amount"], r["state"]) for r in body["refunds"]] == [("39.90", "pending")]
    deliver(transport)
    paid_order.refresh_from_db()
    assert (paid_order.state, paid_order.refunded_amount) == (OrderState.REFUNDED, Decimal("39.90"))
    assert stock_of(sku) == 10


def test_approve_a_members_refund_request_once(operator_api, paid_order, buyer, transport):
    services.request_refund(order=paid_order, by=buyer, reason="不想要了")
    url = reverse("api-shop-order-approve-refund", args=[paid_order.pk])

    first = operator_api.post(url, {}, format="json")
    second = operator_api.post(url, {}, format="json")

    assert first.status_code == second.status_code == 200
    assert Refund.objects.filter(order=paid_order).count() == 1
    deliver(transport)
    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.REFUNDED
    assert operator_api.post(url, {}, format="json").status_code == 409


def test_reject_a_refund_request(operator_api, operator, paid_order, buyer):
    url = reverse("api-shop-order-reject-refund", args=[paid_order.pk])
    not_requested = operator_api.post(url, {"reason": "已使用"}, format="json")
    services.request_refund(order=paid_order, by=buyer, reason="不想要了")

    missing = operator_api.post(url, {"reason": ""}, format="json")
    response = operator_api.post(url, {"reason": "商品已拆封使用"}, format="json")

    assert not_requested.status_code == 409
    assert missing.status_code == 400 and errors_of(missing)[0]["field"] == "reason"
    assert response.status_code == 200 and response.json()["state"] == "refund_rejected"
    move = OrderTransition.objects.get(order=paid_order, to_state=OrderState.REFUND_REJECTED)
    assert (move.by, move.reason) == (operator, "商品已拆封使用")
    assert not Refund.objects.exists()


def test_approving_a_refund_nobody_asked_for_is_refused(operator_api, paid_order):
    response = operator_api.post(reverse("api-shop-order-approve-refund", args=[paid_order.pk]), {}, format="json")

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "invalid_transition"
    assert not Refund.objects.exists()


# --- After-sales ----------------------------------------------------------------------------------


@pytest.fixture
def case(paid_order, buyer):
    return services.open_case(order=paid_order, member=buyer, reason="收到时破损", photos=[png()])


def test_the_after_sales_queue_and_a_case(operator_api, case, buyer, paid_order):
    listed = operator_api.get(reverse("api-shop-cases"), {"state": "open"}).json()
    detail = operator_api.get(reverse("api-shop-case", args=[case.pk])).json()

    assert [c["id"] for c in listed["results"]] == [case.pk]
    assert operator_api.get(reverse("api-shop-cases"), {"state": "resolved"}).json()["count"] == 0
    assert detail["order"] == {"id": paid_order.pk, "number": paid_order.number, "state": "paid"}
    assert detail["member"] == {"id": buyer.pk, "public_name": "王芳"}
    assert len(detail["photos"]) == 1 and detail["state"] == "open"


def test_close_a_case_once(operator_api, operator, case, buyer):
    url = reverse("api-shop-case-close", args=[case.pk])

    missing = operator_api.post(url, {"resolution": ""}, format="json")
    closed = operator_api.post(url, {"resolution": "已补发", "resolved": True}, format="json")
    again = operator_api.post(url, {"resolution": "再次处理", "resolved": False}, format="json")

    assert missing.status_code == 400 and errors_of(missing)[0]["field"] == "resolution"
    assert closed.status_code == 200
    assert closed.json()["resolved_by"]["id"] == operator.pk
    assert again.status_code == 400
    case.refresh_from_db()
    assert (case.state, case.resolution, case.resolved_by) == (CaseState.RESOLVED, "已补发", operator)
    assert not services.do_not_market(member=buyer, shop_id=case.shop_id)


def test_the_after_sales_queue_runs_in_a_constant_number_of_queries(operator_api, operator, group, sku, transport):
    def add_cases(n):
        for _ in range(n):
            member = buyer_in(group)
            order = order_for(member, group, sku)
            pay(order, transport)
            case = services.open_case(order=order, member=member, reason="破损", photos=[png()])
            services.close_case(case=case, by=operator, resolution="已补发")

    url = reverse("api-shop-cases")
    add_cases(1)
    few = queries(operator_api, url)
    add_cases(4)
    many = queries(operator_api, url)

    assert operator_api.get(url).json()["count"] == 5
    assert few == many


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("api-shop-products", lambda shop: SkuFactory.create_batch(2, product=ProductFactory(shop=shop))),
        ("api-shop-pickup-points", lambda shop: PickupPointFactory(shop=shop)),
    ],
)
def test_catalog_lists_run_in_a_constant_number_of_queries(operator_api, shop, group, name, make):
    url = reverse(name)
    make(shop)
    few = queries(operator_api, url)
    for _ in range(9):
        make(shop)
    many = queries(operator_api, url)

    assert operator_api.get(url).json()["count"] == 10
    assert few == many


# --- Who may do what ------------------------------------------------------------------------------


@pytest.fixture
def shop_b_objects(other_shop, other_operator, transport):
    """Shop B's catalog, a paid order with a refund request and an open case: shop A must never reach them."""
    group = GroupFactory(shop=other_shop)
    sku = SkuFactory(product__shop=other_shop, stock=10)
    member = buyer_in(group)
    order = order_for(member, group, sku)
    pay(order, transport)
    pending = order_for(member, group, sku)
    services.request_refund(order=order, by=member, reason="不想要了")
    case = services.open_case(order=order, member=member, reason="破损")
    return {
        "product": sku.product,
        "sku": sku,
        "point": PickupPointFactory(shop=other_shop),
        "order": order,
        "pending": pending,
        "case": case,
    }


# (method, URL name, which of shop B's objects goes in the URL, body)
SHOP_OBJECT_ENDPOINTS = [
    ("get", "api-shop-product", "product", None),
    ("patch", "api-shop-product", "product", {"name": "抢来的商品"}),
    ("post", "api-shop-product-images", "product", None),
    ("post", "api-shop-product-skus", "product", {"spec": "1kg", "price": "1.00", "stock": 1}),
    ("get", "api-shop-sku", "sku", None),
    ("patch", "api-shop-sku", "sku", {"price": "0.01"}),
    ("post", "api-shop-sku-stock", "sku", {"delta": -10}),
    ("get", "api-shop-pickup-point", "point", None),
    ("patch", "api-shop-pickup-point", "point", {"name": "抢来的自提点"}),
    ("get", "api-shop-order", "order", None),
    ("post", "api-shop-order-ship", "order", {"tracking_number": "SF1"}),
    ("post", "api-shop-order-cancel", "pending", {}),
    ("post", "api-shop-order-refund", "order", {"reason": "x"}),
    ("post", "api-shop-order-approve-refund", "order", {}),
    ("post", "api-shop-order-reject-refund", "order", {"reason": "x"}),
    ("get", "api-shop-case", "case", None),
    ("post", "api-shop-case-close", "case", {"resolution": "x"}),
]
ENDPOINT_IDS = [f"{m}-{n}" for m, n, _t, _b in SHOP_OBJECT_ENDPOINTS]


def assert_untouched(objects):
    """Nothing a refused call could have changed did change."""
    product, sku, point = (type(o).objects.get(pk=o.pk) for o in (objects["product"], objects["sku"], objects["point"]))
    assert product.name != "抢来的商品" and not product.skus.exclude(pk=sku.pk).exists()
    assert not ProductImage.objects.exists()
    assert (sku.price, sku.stock) == (Decimal("39.90"), 8)
    assert point.name != "抢来的自提点"
    assert Order.objects.get(pk=objects["order"].pk).state == OrderState.REFUND_REQUESTED
    assert Order.objects.get(pk=objects["pending"].pk).state == OrderState.PENDING_PAYMENT
    assert not Refund.objects.exists()
    assert AfterSalesCase.objects.get(pk=objects["case"].pk).state == CaseState.OPEN


@pytest.mark.parametrize(("method", "name", "target", "body"), SHOP_OBJECT_ENDPOINTS, ids=ENDPOINT_IDS)
def test_another_shops_objects_are_not_found(operator_api, shop_b_objects, method, name, target, body):
    url = reverse(name, args=[shop_b_objects[target].pk])

    if method == "get":
        response = operator_api.get(url)
    else:  # a body of None is the image upload
        response = getattr(operator_api, method)(
            url, body if body is not None else {"image": png()}, format="json" if body is not None else "multipart"
        )

    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "not_found"
    assert_untouched(shop_b_objects)


@pytest.mark.parametrize("name", ["api-shop-products", "api-shop-pickup-points", "api-shop-orders", "api-shop-cases"])
def test_lists_never_show_another_shops_objects(operator_api, shop_b_objects, name):
    assert operator_api.get(reverse(name)).json()["count"] == 0


def test_filters_cannot_reach_into_another_shop(operator_api, shop_b_objects):
    b = shop_b_objects
    url = reverse("api-shop-orders")

    assert operator_api.get(url, {"group": b["order"].group_id}).json()["count"] == 0
    assert operator_api.get(url, {"product": b["product"].pk}).json()["count"] == 0


@pytest.fixture
def shop_a_objects(shop, group, sku, transport):
    member = buyer_in(group)
    order = order_for(member, group, sku)
    pay(order, transport)
    pending = order_for(member, group, sku)
    services.request_refund(order=order, by=member, reason="不想要了")
    case = services.open_case(order=order, member=member, reason="破损")
    return {
        "product": sku.product,
        "sku": sku,
        "point": PickupPointFactory(shop=shop),
        "order": order,
        "pending": pending,
        "case": case,
    }


WRITES = [(m, n, t, b) for m, n, t, b in SHOP_OBJECT_ENDPOINTS if m != "get"] + [
    ("post", "api-shop-products", None, {"name": "新商品"}),
    ("post", "api-shop-pickup-points", None, {"name": "新自提点", "address": "某路 1 号"}),
]


@pytest.mark.parametrize(("method", "name", "target", "body"), WRITES, ids=[f"{m}-{n}" for m, n, _t, _b in WRITES])
def test_a_viewer_may_not_write(viewer_api, shop_a_objects, method, name, target, body):
    url = reverse(name, args=[shop_a_objects[target].pk] if target else [])

    response = getattr(viewer_api, method)(
        url, body if body is not None else {"image": png()}, format="json" if body is not None else "multipart"
    )

    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "permission_denied"
    assert_untouched(shop_a_objects)
    assert Product.objects.count() == 1 and PickupPoint.objects.count() == 1


READS = [(n, t) for m, n, t, _b in SHOP_OBJECT_ENDPOINTS if m == "get"] + [
    ("api-shop-products", None),
    ("api-shop-pickup-points", None),
    ("api-shop-orders", None),
    ("api-shop-cases", None),
]


@pytest.mark.parametrize(("name", "target"), READS, ids=[n for n, _t in READS])
def test_a_viewer_may_read(viewer_api, shop_a_objects, name, target):
    response = viewer_api.get(reverse(name, args=[shop_a_objects[target].pk] if target else []))

    assert response.status_code == 200


@pytest.mark.parametrize(("name", "target"), READS, ids=[n for n, _t in READS])
def test_shop_endpoints_need_sign_in_and_a_seat(api, member_api, shop_a_objects, name, target):
    url = reverse(name, args=[shop_a_objects[target].pk] if target else [])

    anonymous = api.get(url)
    no_seat = member_api.get(url)

    assert anonymous.status_code in (401, 403)
    assert errors_of(anonymous)[0]["code"] == "not_authenticated"
    assert no_seat.status_code == 403
    assert errors_of(no_seat)[0]["code"] == "no_shop_seat"


@pytest.mark.parametrize(("method", "name", "target", "body"), WRITES, ids=[f"{m}-{n}" for m, n, _t, _b in WRITES])
def test_shop_writes_need_sign_in(api, shop_a_objects, method, name, target, body):
    url = reverse(name, args=[shop_a_objects[target].pk] if target else [])

    response = getattr(api, method)(
        url, body if body is not None else {"image": png()}, format="json" if body is not None else "multipart"
    )

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"
    assert_untouched(shop_a_objects)
