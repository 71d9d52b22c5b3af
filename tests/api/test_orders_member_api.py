"""The member side of the orders API: a group's products, placing orders (idempotently), my orders,
paying, cancelling, asking for a refund, confirming receipt and opening an after-sales case."""

import io
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from groups import services as group_services
from groups.models import MembershipStatus, Threshold
from orders import services
from orders.models import (
    AfterSalesCase,
    CasePhoto,
    Order,
    OrderState,
    OrderTransition,
    Payment,
    PaymentState,
    Sku,
)
from orders.payments.simulated import deliver_due
from tests.builders.orders import DjangoClientTransport, order_for, pay
from tests.factories import (
    GroupFactory,
    InviteLinkFactory,
    PickupPointFactory,
    ProductFactory,
    SkuFactory,
    UserFactory,
)

from .conftest import errors_of

ADDRESS = {"recipient_name": "王芳", "recipient_phone": "13800138000", "address": "上海市徐汇区漕溪北路 1 号"}


@pytest.fixture
def in_group(group, member):
    """`member` is an active member of `group` (of `shop`)."""
    group_services.add_member(group=group, user=member, by=None)
    return group


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop, product__name="有机米粉", spec="500g", price=Decimal("39.90"), stock=10)


@pytest.fixture
def transport(client):
    return DjangoClientTransport(client)


def order_body(sku, quantity=1, **changes) -> dict:
    return {"lines": [{"sku": sku.pk, "quantity": quantity}], "delivery": "shipping", **ADDRESS, **changes}


def place(client, group, body, key="key-1"):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(reverse("api-my-group-orders", args=[group.pk]), body, format="json", **extra)


def stock_of(sku) -> int:
    return Sku.objects.get(pk=sku.pk).stock


def image_upload(name="photo.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- A group's products ---------------------------------------------------------------------------


def test_a_groups_products_are_listed_with_the_skus_that_can_be_bought(member_api, in_group, shop, other_shop):
    product = ProductFactory(shop=shop, name="有机米粉", usage_cycle_days=20)
    dear = SkuFactory(product=product, spec="1kg", price=Decimal("69.00"), stock=3)
    cheap = SkuFactory(product=product, spec="500g", price=Decimal("39.90"), stock=0)
    SkuFactory(product=product, spec="试用装", is_active=False)
    ProductFactory(shop=shop, name="下架商品", is_active=False)
    elsewhere = ProductFactory(shop=shop, name="别的群的商品", offered_to_all_groups=False)
    elsewhere.groups.add(GroupFactory(shop=shop))
    chosen = ProductFactory(shop=shop, name="本群专供", offered_to_all_groups=False)
    chosen.groups.add(in_group)
    ProductFactory(shop=other_shop, name="别的店的商品")

    response = member_api.get(reverse("api-my-group-products", args=[in_group.pk]))

    assert response.status_code == 200
    body = response.json()
    assert [p["name"] for p in body["results"]] == ["本群专供", "有机米粉"]
    row = body["results"][1]
    assert row["usage_cycle_days"] == 20
    assert row["skus"] == [
        {"id": cheap.pk, "spec": "500g", "price": "39.90", "stock": 0, "per_member_limit": None},
        {"id": dear.pk, "spec": "1kg", "price": "69.00", "stock": 3, "per_member_limit": None},
    ]


def test_a_product_of_my_group_in_detail(member_api, in_group, sku):
    response = member_api.get(reverse("api-my-group-product", args=[in_group.pk, sku.product_id]))

    assert response.status_code == 200
    assert response.json()["name"] == "有机米粉"
    assert [s["id"] for s in response.json()["skus"]] == [sku.pk]


def test_a_product_not_offered_to_my_group_is_not_found(member_api, in_group, shop, other_shop):
    elsewhere = ProductFactory(shop=shop, offered_to_all_groups=False)
    elsewhere.groups.add(GroupFactory(shop=shop))
    foreign = ProductFactory(shop=other_shop)

    for product in (elsewhere, foreign):
        response = member_api.get(reverse("api-my-group-product", args=[in_group.pk, product.pk]))
        assert response.status_code == 404
        assert errors_of(response)[0]["code"] == "not_found"


def test_products_of_a_group_i_am_not_in_are_not_found(member_api, group, sku):
    response = member_api.get(reverse("api-my-group-products", args=[group.pk]))

    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "not_found"


def test_the_pickup_points_of_my_groups_shop(member_api, in_group, shop, other_shop):
    open_point = PickupPointFactory(shop=shop, name="望京店")
    PickupPointFactory(shop=shop, name="已关闭", is_active=False)
    PickupPointFactory(shop=other_shop, name="别的店")

    response = member_api.get(reverse("api-my-group-pickup-points", args=[in_group.pk]))

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": open_point.pk, "name": "望京店", "address": open_point.address, "opening_hours": ""}
    ]


def test_the_product_list_runs_in_a_constant_number_of_queries(member_api, in_group, shop):
    def add_products(n):
        for _ in range(n):
            SkuFactory.create_batch(2, product=ProductFactory(shop=shop))

    url = reverse("api-my-group-products", args=[in_group.pk])
    add_products(1)
    few = queries(member_api, url)
    add_products(9)
    many = queries(member_api, url)

    assert member_api.get(url).json()["count"] == 10
    assert few == many


# --- Placing an order -----------------------------------------------------------------------------


def test_placing_an_order_reserves_stock_and_answers_201(member_api, member, in_group, sku):
    response = place(member_api, in_group, order_body(sku, 2, note="放门口"))

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(pk=body["id"])
    assert (order.member, order.group, order.state) == (member, in_group, OrderState.PENDING_PAYMENT)
    assert order.total == Decimal("79.80") and order.idempotency_key == "key-1"
    assert stock_of(sku) == 8
    assert body["state"] == "pending_payment"
    assert body["total"] == "79.80" and body["subtotal"] == "79.80" and body["discount"] == "0.00"
    assert body["lines"] == [
        {
            "id": order.lines.get().pk,
            "sku_id": sku.pk,
            "product_id": sku.product_id,
            "product_name": "有机米粉",
            "spec": "500g",
            "unit_price": "39.90",
            "quantity": 2,
            "line_total": "79.80",
            "adjustment_amount": "0.00",
            "refunded_amount": "0.00",
        }
    ]
    assert (body["charges"], body["adjustments"]) == ("0.00", [])
    assert (body["delivery"], body["address"], body["note"]) == ("shipping", ADDRESS["address"], "放门口")
    assert body["group"] == {"id": in_group.pk, "name": in_group.name}
    assert [t["to_state"] for t in body["allowed_transitions"]] == ["paid", "cancelled"]
    assert [(t["from_state"], t["to_state"]) for t in body["transitions"]] == [("", "pending_payment")]


def test_a_pickup_order_names_its_pickup_point(member_api, in_group, sku, shop):
    point = PickupPointFactory(shop=shop)

    response = place(
        member_api,
        in_group,
        {"lines": [{"sku": sku.pk, "quantity": 1}], "delivery": "pickup", "pickup_point": point.pk},
    )

    assert response.status_code == 201
    assert response.json()["pickup_point"]["id"] == point.pk
    assert Order.objects.get().pickup_point == point


def test_the_same_key_and_body_again_returns_the_same_order_with_200(member_api, in_group, sku):
    first = place(member_api, in_group, order_body(sku, 2))
    again = place(member_api, in_group, order_body(sku, 2))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert stock_of(sku) == 8  # reserved once


def test_the_same_key_with_a_different_body_is_refused(member_api, in_group, sku):
    first = place(member_api, in_group, order_body(sku, 2))

    response = place(member_api, in_group, order_body(sku, 3))

    assert response.status_code == 422
    assert errors_of(response) == [
        {
            "field": "Idempotency-Key",
            "code": "idempotency_key_reused",
            "message": "这个幂等键已用于另一笔不同的下单请求。",
        }
    ]
    assert list(Order.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    assert stock_of(sku) == 8


def test_another_member_may_use_the_same_key(member_api, client_for, in_group, sku):
    other = UserFactory()
    group_services.add_member(group=in_group, user=other, by=None)

    mine = place(member_api, in_group, order_body(sku))
    theirs = place(client_for(other), in_group, order_body(sku))

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert stock_of(sku) == 8


@pytest.mark.parametrize(("key", "code"), [(None, "required"), ("   ", "required"), ("k" * 65, "invalid")])
def test_an_order_needs_an_idempotency_key_header(member_api, in_group, sku, key, code):
    response = place(member_api, in_group, order_body(sku), key=key)

    assert response.status_code == 400
    error = errors_of(response)[0]
    assert (error["field"], error["code"]) == ("Idempotency-Key", code)
    assert not Order.objects.exists()
    assert stock_of(sku) == 10


INVALID_ORDERS = [
    ("no lines", lambda sku, point: order_body(sku) | {"lines": []}, "lines"),
    ("zero quantity", lambda sku, point: order_body(sku, 0), "quantity"),
    ("more than in stock", lambda sku, point: order_body(sku, 11), "lines"),
    (
        "the same sku twice",
        lambda sku, point: order_body(sku) | {"lines": [{"sku": sku.pk, "quantity": 1}] * 2},
        "lines",
    ),
    ("no such sku", lambda sku, point: order_body(sku) | {"lines": [{"sku": 999999, "quantity": 1}]}, "lines"),
    ("another shop's sku", lambda sku, point: order_body(SkuFactory()), "lines"),
    ("an inactive sku", lambda sku, point: order_body(SkuFactory(product=sku.product, is_active=False)), "lines"),
    ("a sku id beyond any id", lambda sku, point: order_body(sku) | {"lines": [{"sku": 2**40, "quantity": 1}]}, "sku"),
    (
        "a quantity that is no number",
        lambda sku, point: order_body(sku) | {"lines": [{"sku": sku.pk, "quantity": "两"}]},
        "quantity",
    ),
    ("shipping without an address", lambda sku, point: order_body(sku, address=""), "address"),
    ("shipping without a phone", lambda sku, point: order_body(sku, recipient_phone="  "), "address"),
    ("an address too long", lambda sku, point: order_body(sku, address="路" * 201), "address"),
    ("pickup without a point", lambda sku, point: order_body(sku, delivery="pickup"), "pickup_point"),
    (
        "another shop's pickup point",
        lambda sku, point: order_body(sku, delivery="pickup", pickup_point=point.pk),
        "pickup_point",
    ),
    ("no such delivery", lambda sku, point: order_body(sku, delivery="drone"), "delivery"),
]


@pytest.mark.parametrize(
    ("make_body", "field"), [(m, f) for _n, m, f in INVALID_ORDERS], ids=[n for n, _m, _f in INVALID_ORDERS]
)
def test_an_invalid_order_is_refused_on_its_field_and_takes_no_stock(member_api, in_group, sku, make_body, field):
    foreign_point = PickupPointFactory()

    response = place(member_api, in_group, make_body(sku, foreign_point))

    assert response.status_code == 400
    errors = errors_of(response)
    assert errors[0]["field"] == field, errors
    assert not Order.objects.exists()
    assert stock_of(sku) == 10


def test_the_per_member_limit_is_kept(member_api, in_group, sku):
    Sku.objects.filter(pk=sku.pk).update(per_member_limit=2)
    assert place(member_api, in_group, order_body(sku, 2), key="a").status_code == 201

    response = place(member_api, in_group, order_body(sku, 1), key="b")

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "lines"
    assert "限购" in errors_of(response)[0]["message"]
    assert Order.objects.count() == 1


def test_a_member_still_waiting_for_approval_cannot_order(member_api, member, shop, sku):
    group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL)
    membership = group_services.join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    assert membership.status == MembershipStatus.PENDING

    response = place(member_api, group, order_body(sku))

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] is None
    assert not Order.objects.exists()


def test_ordering_in_a_group_i_am_not_in_is_not_found(member_api, group, sku):
    response = place(member_api, group, order_body(sku))

    assert response.status_code == 404
    assert not Order.objects.exists()
    assert stock_of(sku) == 10


# --- My orders ------------------------------------------------------------------------------------


def test_my_orders_are_mine_only_newest_first_and_filter_by_state(member_api, member, in_group, sku):
    older = order_for(member, in_group, sku)
    newer = order_for(member, in_group, sku)
    services.cancel_order(order=older, by=member)
    stranger = UserFactory()
    group_services.add_member(group=in_group, user=stranger, by=None)
    order_for(stranger, in_group, sku)
    url = reverse("api-my-orders")

    body = member_api.get(url).json()

    assert [o["id"] for o in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0]["shop_name"] == in_group.shop.name
    assert [o["id"] for o in member_api.get(url, {"state": "cancelled"}).json()["results"]] == [older.pk]
    bad = member_api.get(url, {"state": "lost"})
    assert bad.status_code == 400
    assert errors_of(bad)[0]["field"] == "state"


def test_my_orders_list_runs_in_a_constant_number_of_queries(member_api, member, in_group, shop):
    skus = SkuFactory.create_batch(3, product__shop=shop)

    def add_orders(n):
        for _ in range(n):
            services.place_order(
                member=member,
                group=in_group,
                idempotency_key=uuid.uuid4().hex,
                lines=[services.LineRequest(s.pk, 1) for s in skus],
                delivery=services.DeliveryRequest(method="shipping", **ADDRESS),
            )

    url = reverse("api-my-orders")
    add_orders(1)
    few = queries(member_api, url)
    add_orders(9)
    many = queries(member_api, url)

    assert member_api.get(url).json()["count"] == 10
    assert few == many


def test_my_order_in_detail(member_api, member, in_group, sku, transport):
    order = order_for(member, in_group, sku)
    pay(order, transport)

    body = member_api.get(reverse("api-my-order", args=[order.pk])).json()

    assert body["state"] == "paid"
    assert [(t["from_state"], t["to_state"]) for t in body["transitions"]] == [
        ("", "pending_payment"),
        ("pending_payment", "paid"),
    ]
    assert [(p["state"], p["amount"]) for p in body["payments"]] == [("succeeded", "39.90")]
    assert body["recipient_phone"] == ADDRESS["recipient_phone"]
    assert [t["to_state"] for t in body["allowed_transitions"]] == ["shipped", "refund_requested"]


# Every member endpoint that takes an order id, with a body that would work on one's own order.
ORDER_ENDPOINTS = [
    ("get", "api-my-order", None),
    ("post", "api-my-order-pay", None),
    ("post", "api-my-order-cancel", {"reason": "不要了"}),
    ("post", "api-my-order-request-refund", {"reason": "不要了"}),
    ("post", "api-my-order-confirm-receipt", None),
    ("post", "api-my-order-after-sales", {"reason": "坏了"}),
]


@pytest.mark.parametrize(("method", "name", "body"), ORDER_ENDPOINTS, ids=[n for _m, n, _b in ORDER_ENDPOINTS])
def test_another_members_order_is_not_found(member_api, in_group, sku, transport, method, name, body):
    stranger = UserFactory()
    group_services.add_member(group=in_group, user=stranger, by=None)
    pending = order_for(stranger, in_group, sku)
    paid = order_for(stranger, in_group, sku)
    pay(paid, transport)

    for order in (pending, paid):
        response = getattr(member_api, method)(reverse(name, args=[order.pk]), body, format="json")
        assert response.status_code == 404
        assert errors_of(response)[0]["code"] == "not_found"
    assert {o.state for o in Order.objects.all()} == {OrderState.PENDING_PAYMENT, OrderState.PAID}
    assert Payment.objects.count() == 1
    assert not AfterSalesCase.objects.exists()


@pytest.mark.parametrize(("method", "name", "body"), ORDER_ENDPOINTS, ids=[n for _m, n, _b in ORDER_ENDPOINTS])
def test_order_endpoints_need_sign_in(api, member, in_group, sku, method, name, body):
    order = order_for(member, in_group, sku)

    response = getattr(api, method)(reverse(name, args=[order.pk]), body, format="json")

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT


@pytest.mark.parametrize(
    "name", ["api-my-group-products", "api-my-group-pickup-points", "api-my-group-orders", "api-my-orders"]
)
def test_member_lists_and_ordering_need_sign_in(api, in_group, sku, name):
    url = reverse(name, args=[in_group.pk] if name != "api-my-orders" else [])

    response = api.post(url, order_body(sku), format="json") if name == "api-my-group-orders" else api.get(url)

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"
    assert not Order.objects.exists()


# --- Paying ---------------------------------------------------------------------------------------


def test_pay_returns_the_cashier_url_and_reuses_the_open_payment(member_api, member, in_group, sku):
    order = order_for(member, in_group, sku, quantity=2)
    url = reverse("api-my-order-pay", args=[order.pk])

    first = member_api.post(url)
    again = member_api.post(url)

    assert first.status_code == again.status_code == 200
    payment = Payment.objects.get(order=order)
    assert (payment.amount, payment.state) == (Decimal("79.80"), PaymentState.CREATED)
    body = first.json()
    assert body["pay_url"] == f"http://testserver/pay/simulated/{payment.provider_ref}/"
    assert body["payment"]["amount"] == "79.80" and body["payment"]["provider_ref"] == payment.provider_ref
    assert again.json()["payment"]["id"] == payment.pk


def test_the_order_is_paid_when_the_providers_notification_arrives(
    member_api, member, in_group, sku, transport, client
):
    order = order_for(member, in_group, sku)
    pay_url = member_api.post(reverse("api-my-order-pay", args=[order.pk])).json()["pay_url"]
    client.force_login(member)

    client.post(pay_url.removeprefix("http://testserver"), {"outcome": "success"})
    deliver_due(post=transport)

    assert member_api.get(reverse("api-my-order", args=[order.pk])).json()["state"] == "paid"


@pytest.mark.parametrize("make_state", ["cancelled", "paid"])
def test_an_order_that_is_not_pending_cannot_be_paid(member_api, member, in_group, sku, transport, make_state):
    order = order_for(member, in_group, sku)
    if make_state == "cancelled":
        services.cancel_order(order=order, by=member)
    else:
        pay(order, transport)

    response = member_api.post(reverse("api-my-order-pay", args=[order.pk]))

    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "invalid_transition"
    assert Payment.objects.filter(order=order).count() == (0 if make_state == "cancelled" else 1)


# --- Cancel, refund, receipt ----------------------------------------------------------------------


def test_cancel_an_unpaid_order_gives_the_stock_back_once(member_api, member, in_group, sku):
    order = order_for(member, in_group, sku, quantity=3)
    url = reverse("api-my-order-cancel", args=[order.pk])

    response = member_api.post(url, {"reason": "拍错了"}, format="json")
    again = member_api.post(url, {}, format="json")

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert again.status_code == 409
    assert errors_of(again)[0]["code"] == "invalid_transition"
    assert stock_of(sku) == 10
    move = OrderTransition.objects.get(order=order, to_state=OrderState.CANCELLED)
    assert (move.by, move.reason) == (member, "拍错了")


def test_a_paid_order_cannot_be_cancelled(member_api, member, in_group, sku, transport):
    order = order_for(member, in_group, sku)
    pay(order, transport)

    response = member_api.post(reverse("api-my-order-cancel", args=[order.pk]), {}, format="json")

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.state == OrderState.PAID
    assert stock_of(sku) == 9


def test_ask_for_a_refund_of_a_paid_order(member_api, member, in_group, sku, transport):
    order = order_for(member, in_group, sku)
    pay(order, transport)
    url = reverse("api-my-order-request-refund", args=[order.pk])

    missing = member_api.post(url, {"reason": " "}, format="json")
    response = member_api.post(url, {"reason": "尺码不合适"}, format="json")

    assert missing.status_code == 400
    assert errors_of(missing)[0]["field"] == "reason"
    assert response.status_code == 200
    assert response.json()["state"] == "refund_requested"
    assert OrderTransition.objects.get(order=order, to_state=OrderState.REFUND_REQUESTED).reason == "尺码不合适"


def test_an_unpaid_order_has_nothing_to_refund(member_api, member, in_group, sku):
    order = order_for(member, in_group, sku)

    response = member_api.post(
        reverse("api-my-order-request-refund", args=[order.pk]), {"reason": "不要了"}, format="json"
    )

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT


def test_confirm_receipt_of_a_shipped_order(member_api, member, in_group, sku, transport, operator):
    order = order_for(member, in_group, sku)
    pay(order, transport)
    url = reverse("api-my-order-confirm-receipt", args=[order.pk])

    too_early = member_api.post(url)
    services.ship_order(order=order, by=operator, tracking_number="SF1000")
    response = member_api.post(url)

    assert too_early.status_code == 409
    assert response.status_code == 200
    assert response.json()["state"] == "completed"


# --- After-sales ----------------------------------------------------------------------------------


def after_sales(client, order, reason="收到时已经破损", photos=()):
    return client.post(
        reverse("api-my-order-after-sales", args=[order.pk]),
        {"reason": reason, "photos": list(photos)},
        format="multipart",
    )


def test_open_an_after_sales_case_with_photos(member_api, member, in_group, sku, transport):
    order = order_for(member, in_group, sku)
    pay(order, transport)

    response = after_sales(member_api, order, photos=[image_upload("a.png"), image_upload("b.png")])

    assert response.status_code == 201
    body = response.json()
    case = AfterSalesCase.objects.get(pk=body["id"])
    assert (case.order, case.member, case.state, case.reason) == (order, member, "open", "收到时已经破损")
    assert CasePhoto.objects.filter(case=case).count() == 2
    assert len(body["photos"]) == 2 and all(url.startswith("http://testserver/media/") for url in body["photos"])
    assert services.do_not_market(member=member, shop_id=order.shop_id)
    detail = member_api.get(reverse("api-my-order", args=[order.pk])).json()
    assert [c["id"] for c in detail["after_sales_cases"]] == [case.pk]


def test_a_case_without_photos(member_api, member, in_group, sku, transport):
    order = order_for(member, in_group, sku)
    pay(order, transport)

    response = after_sales(member_api, order)

    assert response.status_code == 201
    assert response.json()["photos"] == []


@pytest.mark.parametrize(
    ("photos", "reason"),
    [
        (lambda: [SimpleUploadedFile("x.png", b"not an image", content_type="image/png")], "收到时已经破损"),
        (lambda: [image_upload(f"{i}.png") for i in range(10)], "收到时已经破损"),
        (lambda: [], ""),
    ],
    ids=["not-an-image", "ten-photos", "no-reason"],
)
def test_an_invalid_case_is_refused_on_its_field(member_api, member, in_group, sku, transport, photos, reason):
    order = order_for(member, in_group, sku)
    pay(order, transport)

    response = after_sales(member_api, order, reason=reason, photos=photos())

    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == ("reason" if not reason else "photos")
    assert not AfterSalesCase.objects.exists() and not CasePhoto.objects.exists()


def test_no_case_on_an_unpaid_order_and_one_open_case_per_order(member_api, member, in_group, sku, transport):
    unpaid = order_for(member, in_group, sku)
    paid = order_for(member, in_group, sku)
    pay(paid, transport)

    on_unpaid = after_sales(member_api, unpaid)
    first = after_sales(member_api, paid)
    second = after_sales(member_api, paid)

    assert on_unpaid.status_code == 400
    assert first.status_code == 201
    assert second.status_code == 400
    assert errors_of(second)[0]["field"] is None
    assert AfterSalesCase.objects.count() == 1
