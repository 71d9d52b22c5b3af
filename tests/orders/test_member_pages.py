"""Members' order pages: a member browses their group's shop, confirms, places (once, however often they
press submit), pays through the simulated cashier, and cancels, asks for a refund or opens an after-sales
case — only ever in their own groups and on their own orders."""

import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.phones import INVALID_PHONE_MESSAGE
from groups.models import Threshold
from orders.models import (
    AfterSalesCase,
    Order,
    OrderState,
    Payment,
    PaymentState,
    ProductImage,
    SimulatedCharge,
)
from orders.payments.simulated import deliver_due
from orders.services import MAX_CASE_PHOTOS, ship_order
from tests.builders.orders import make_buyer, order_for, pay
from tests.factories import GroupFactory, PickupPointFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db
KEY_FIELD = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def html(response) -> str:
    return response.content.decode()


def shop_url(group) -> str:
    return reverse("orders:group_shop", args=[group.pk])


def product_url(group, product) -> str:
    return reverse("orders:product", args=[group.pk, product.pk])


def checkout_url(group) -> str:
    return reverse("orders:checkout", args=[group.pk])


def order_url(order) -> str:
    return reverse("orders:member_order", args=[order.pk])


def confirmation_key(client, group, sku, quantity=1) -> str:
    """Open the confirmation page as the member would; return the idempotency key it rendered."""
    response = client.get(checkout_url(group), {"sku": sku.pk, "qty": quantity})
    assert response.status_code == 200
    return KEY_FIELD.search(html(response)).group(1)


def shipping(sku, key, quantity=1, **overrides) -> dict:
    data = {
        "sku": sku.pk,
        "qty": quantity,
        "idempotency_key": key,
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "138 0013 8000",
        "address": "上海市徐汇区漕溪北路 1 号",
        "note": "",
    }
    data.update(overrides)
    return data


def png(name="photo.png") -> SimpleUploadedFile:
    out = BytesIO()
    Image.new("RGB", (40, 30), "#2e7d5b").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


@pytest.fixture
def paid_order(buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku, quantity=2)
    pay(order, transport)
    assert order.state == OrderState.PAID
    return order


# --- The whole purchase -------------------------------------------------------------------------------


def test_a_member_browses_confirms_places_and_pays_through_the_simulated_cashier(
    buyer_client, buyer, buyer_group, sku, transport
):
    sku.product.description = "宝宝辅食，无添加"
    sku.product.save()

    shop = buyer_client.get(shop_url(buyer_group))
    assert shop.status_code == 200
    assert sku.product.name in html(shop) and product_url(buyer_group, sku.product) in html(shop)

    product = buyer_client.get(product_url(buyer_group, sku.product))
    assert product.status_code == 200
    assert sku.spec in html(product) and "¥39.90" in html(product) and "宝宝辅食，无添加" in html(product)
    assert checkout_url(buyer_group) in html(product)

    confirm = buyer_client.get(checkout_url(buyer_group), {"sku": sku.pk, "qty": 2})
    assert confirm.status_code == 200
    assert "¥79.80" in html(confirm)
    key = KEY_FIELD.search(html(confirm)).group(1)

    placed = buyer_client.post(checkout_url(buyer_group), shipping(sku, key, quantity=2, note="下午送"))

    order = Order.objects.get(member=buyer)
    assert placed.status_code == 302 and placed.url == order_url(order)
    assert (order.state, order.group, order.total, order.idempotency_key) == (
        OrderState.PENDING_PAYMENT,
        buyer_group,
        Decimal("79.80"),
        key,
    )
    assert (order.recipient_phone, order.note) == ("13800138000", "下午送")
    sku.refresh_from_db()
    assert sku.stock == 98

    detail = buyer_client.get(order_url(order))
    assert "去付款" in html(detail) and reverse("orders:pay", args=[order.pk]) in html(detail)

    to_cashier = buyer_client.post(reverse("orders:pay", args=[order.pk]))
    payment = Payment.objects.get(order=order)
    cashier_url = reverse("orders:simulated_cashier", args=[payment.provider_ref])
    assert to_cashier.status_code == 302 and to_cashier.url == cashier_url

    cashier = buyer_client.get(cashier_url)
    assert cashier.status_code == 200
    assert "¥79.80" in html(cashier) and order.number in html(cashier)

    paid = buyer_client.post(cashier_url, {"outcome": "success"})
    assert paid.status_code == 302 and paid.url == reverse("orders:after_payment", args=[order.pk])
    assert buyer_client.get(paid.url).url == order_url(order)  # a plain order: back to the order
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT  # money state changes only with the provider's notification
    assert "结果可能需要几秒钟确认" in html(buyer_client.get(order_url(order)))

    assert deliver_due(post=transport) == 1
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.state == OrderState.PAID and payment.state == PaymentState.SUCCEEDED
    page = html(buyer_client.get(order_url(order)))
    assert "付款成功" in page and "支付成功" in page and "去付款" not in page


def test_pressing_submit_twice_places_one_order(buyer_client, buyer, buyer_group, sku):
    key = confirmation_key(buyer_client, buyer_group, sku)

    first = buyer_client.post(checkout_url(buyer_group), shipping(sku, key))
    second = buyer_client.post(checkout_url(buyer_group), shipping(sku, key))

    order = Order.objects.get(member=buyer)
    assert first.url == second.url == order_url(order)
    sku.refresh_from_db()
    assert sku.stock == 99


def test_each_visit_to_the_confirmation_page_gets_its_own_key(buyer_client, buyer_group, sku):
    assert confirmation_key(buyer_client, buyer_group, sku) != confirmation_key(buyer_client, buyer_group, sku)


def test_a_changed_resubmission_of_a_placed_page_is_refused_with_a_fresh_key(buyer_client, buyer, buyer_group, sku):
    key = confirmation_key(buyer_client, buyer_group, sku)
    buyer_client.post(checkout_url(buyer_group), shipping(sku, key))

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key, address="北京市朝阳区 2 号"))

    order = Order.objects.get(member=buyer)
    assert response.status_code == 200
    assert "已经下过单了" in html(response) and order.number in html(response)
    new_key = KEY_FIELD.search(html(response)).group(1)
    assert new_key != key
    again = buyer_client.post(checkout_url(buyer_group), shipping(sku, new_key, address="北京市朝阳区 2 号"))
    assert again.status_code == 302 and Order.objects.filter(member=buyer).count() == 2


def test_pickup_at_a_pickup_point_of_the_shop(buyer_client, buyer, buyer_group, sku, shop):
    point = PickupPointFactory(shop=shop, name="望京店", address="北京市朝阳区望京街 1 号")
    confirm = buyer_client.get(checkout_url(buyer_group), {"sku": sku.pk, "qty": 1})
    assert "望京店" in html(confirm) and "北京市朝阳区望京街 1 号" in html(confirm)
    key = KEY_FIELD.search(html(confirm)).group(1)

    buyer_client.post(
        checkout_url(buyer_group), shipping(sku, key, delivery="pickup", address="", pickup_point=point.pk)
    )

    order = Order.objects.get(member=buyer)
    assert (order.delivery, order.pickup_point) == ("pickup", point)
    assert "望京店" in html(buyer_client.get(order_url(order)))


def test_a_pickup_point_of_another_shop_is_refused(buyer_client, buyer, buyer_group, sku, shop, other_shop):
    PickupPointFactory(shop=shop)
    elsewhere = PickupPointFactory(shop=other_shop)
    key = confirmation_key(buyer_client, buyer_group, sku)

    response = buyer_client.post(
        checkout_url(buyer_group), shipping(sku, key, delivery="pickup", pickup_point=elsewhere.pk)
    )

    assert response.status_code == 200 and "请选择本店有效的自提点。" in html(response)
    assert not Order.objects.exists()


def test_pickup_is_not_offered_by_a_shop_without_pickup_points(buyer_client, buyer_group, sku):
    key = confirmation_key(buyer_client, buyer_group, sku)
    assert 'value="pickup"' not in html(buyer_client.get(checkout_url(buyer_group), {"sku": sku.pk, "qty": 1}))

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key, delivery="pickup"))

    assert response.status_code == 200 and "请选择配送方式。" in html(response)
    assert not Order.objects.exists()


# --- Refusals shown on the confirmation page ------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"address": ""}, "请填写收货地址。"),
        ({"recipient_name": " "}, "请填写联系人姓名。"),
        ({"recipient_phone": "12345"}, str(INVALID_PHONE_MESSAGE)),
        ({"delivery": "pickup"}, "请选择自提点。"),
        ({"delivery": "drone"}, "请选择配送方式。"),
    ],
)
def test_delivery_details_are_checked_on_the_form(buyer_client, buyer_group, sku, shop, overrides, message):
    PickupPointFactory(shop=shop)
    key = confirmation_key(buyer_client, buyer_group, sku)

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key, **overrides))

    assert response.status_code == 200
    assert message in html(response)
    assert KEY_FIELD.search(html(response)).group(1) == key  # nothing was placed: the same page, the same key
    assert not Order.objects.exists()


def test_not_enough_stock_is_shown_and_nothing_is_reserved(buyer_client, buyer_group, shop):
    sku = SkuFactory(product__shop=shop, stock=2)
    key = confirmation_key(buyer_client, buyer_group, sku, quantity=3)

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key, quantity=3))

    assert response.status_code == 200 and "库存不足" in html(response)
    sku.refresh_from_db()
    assert sku.stock == 2 and not Order.objects.exists()


def test_the_purchase_limit_is_shown(buyer_client, buyer, buyer_group, shop):
    sku = SkuFactory(product__shop=shop, per_member_limit=2)
    order_for(buyer, buyer_group, sku, quantity=2)
    assert "每人限购 2 件" in html(buyer_client.get(product_url(buyer_group, sku.product)))
    key = confirmation_key(buyer_client, buyer_group, sku)

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key))

    assert response.status_code == 200 and "每人限购 2 件，你已购买 2 件" in html(response)
    assert Order.objects.count() == 1


def test_a_product_taken_off_sale_after_the_page_rendered_is_refused(buyer_client, buyer_group, sku):
    key = confirmation_key(buyer_client, buyer_group, sku)
    sku.product.is_active = False
    sku.product.save()

    response = buyer_client.post(checkout_url(buyer_group), shipping(sku, key))

    assert response.status_code == 200 and "不可购买" in html(response)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sku": "abc", "qty": "1"},
        {"sku": "1", "qty": "0"},
        {"sku": "1", "qty": "1000"},
        {"sku": str(2**40), "qty": "1"},
        {"sku": "1"},
    ],
)
def test_malformed_lines_send_the_member_back_to_the_shop(buyer_client, buyer_group, params):
    response = buyer_client.get(checkout_url(buyer_group), params)

    assert response.status_code == 302 and response.url == shop_url(buyer_group)


def test_a_sku_not_for_sale_in_the_group_cannot_be_confirmed(buyer_client, buyer_group, shop, other_shop):
    for sku in (
        SkuFactory(product__shop=other_shop),
        SkuFactory(product__shop=shop, is_active=False),
        SkuFactory(product__shop=shop, product__offered_to_all_groups=False),
    ):
        response = buyer_client.get(checkout_url(buyer_group), {"sku": sku.pk, "qty": 1})
        assert response.status_code == 302 and response.url == shop_url(buyer_group)


# --- Who may buy where ----------------------------------------------------------------------------------


def test_a_stranger_to_the_group_gets_404_everywhere_and_cannot_order(client, buyer_group, sku, member):
    client.force_login(member)
    assert client.get(shop_url(buyer_group)).status_code == 404
    assert client.get(product_url(buyer_group, sku.product)).status_code == 404
    assert client.get(checkout_url(buyer_group), {"sku": sku.pk, "qty": 1}).status_code == 404
    assert client.post(checkout_url(buyer_group), shipping(sku, "k1")).status_code == 404
    assert not Order.objects.exists()


def test_a_member_of_group_a_cannot_order_in_group_b(buyer_client, buyer, shop, sku):
    group_b = GroupFactory(shop=shop)

    assert buyer_client.get(shop_url(group_b)).status_code == 404
    assert buyer_client.post(checkout_url(group_b), shipping(sku, "k1")).status_code == 404
    assert not Order.objects.filter(member=buyer).exists()


def test_a_product_offered_to_other_groups_only_is_not_shown(buyer_client, buyer_group, shop):
    elsewhere = ProductFactory(shop=shop, offered_to_all_groups=False, name="别的群专享")
    elsewhere.groups.add(GroupFactory(shop=shop))
    SkuFactory(product=elsewhere)

    assert "别的群专享" not in html(buyer_client.get(shop_url(buyer_group)))
    assert buyer_client.get(product_url(buyer_group, elsewhere)).status_code == 404


def test_a_pending_member_is_told_to_wait(client, shop, sku):
    group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL)
    applicant = make_buyer(group)
    client.force_login(applicant)

    response = client.get(shop_url(group))

    assert response.status_code == 403 and "审核中" in html(response)
    assert client.post(checkout_url(group), shipping(sku, "k1")).status_code == 403
    assert not Order.objects.exists()


def test_signed_out_visitors_are_sent_to_the_phone_sign_in(client, buyer_group):
    response = client.get(shop_url(buyer_group))
    assert response.status_code == 302 and response.url.startswith(reverse("account_request_login_code"))
    response = client.get(reverse("orders:my_orders"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_request_login_code"))


def test_the_group_page_links_to_its_shop(buyer_client, buyer_group):
    assert shop_url(buyer_group) in html(buyer_client.get(reverse("member:group", args=[buyer_group.pk])))


# --- A member's orders are theirs alone -----------------------------------------------------------------


def test_a_member_never_sees_or_touches_another_members_order(client, buyer_group, sku, paid_order):
    someone_else = make_buyer(buyer_group)
    mine = order_for(someone_else, buyer_group, sku)
    client.force_login(someone_else)
    theirs = paid_order

    assert client.get(order_url(theirs)).status_code == 404
    assert client.post(reverse("orders:pay", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("orders:cancel", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("orders:complete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("orders:refund", args=[theirs.pk]), {"reason": "想退"}).status_code == 404
    assert client.post(reverse("orders:open_case", args=[theirs.pk]), {"reason": "坏了"}).status_code == 404
    payment = theirs.payments.get()
    assert client.get(reverse("orders:simulated_cashier", args=[payment.provider_ref])).status_code == 404
    listing = html(client.get(reverse("orders:my_orders")))
    assert mine.number in listing and theirs.number not in listing

    theirs.refresh_from_db()
    assert theirs.state == OrderState.PAID and not AfterSalesCase.objects.exists()


# --- My orders ------------------------------------------------------------------------------------------


def test_my_orders_tabs_filter_by_state(buyer_client, buyer, buyer_group, sku, paid_order):
    unpaid = order_for(buyer, buyer_group, sku)

    everything = html(buyer_client.get(reverse("orders:my_orders")))
    to_pay = html(buyer_client.get(reverse("orders:my_orders"), {"state": "pending_payment"}))
    to_ship = html(buyer_client.get(reverse("orders:my_orders"), {"state": "paid"}))
    refunds = html(buyer_client.get(reverse("orders:my_orders"), {"state": "refund"}))
    nonsense = html(buyer_client.get(reverse("orders:my_orders"), {"state": "<script>", "page": "x"}))

    assert unpaid.number in everything and paid_order.number in everything
    assert unpaid.number in to_pay and paid_order.number not in to_pay
    assert paid_order.number in to_ship and unpaid.number not in to_ship
    assert unpaid.number not in refunds and paid_order.number not in refunds
    assert unpaid.number in nonsense and paid_order.number in nonsense  # unknown tab: everything


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_my_orders_runs_in_a_constant_number_of_queries(
    buyer_client, buyer, buyer_group, sku, shop, django_assert_num_queries
):
    url = reverse("orders:my_orders")
    order_for(buyer, buyer_group, sku)
    one = _queries(buyer_client, url)
    more = SkuFactory(product__shop=shop)
    for _ in range(6):
        order_for(buyer, buyer_group, more, quantity=2)
    order_for(buyer, buyer_group, sku)

    # the session, the user, count, page of orders with group and shop, their lines (the inbox badge was
    # counted on the first visit and comes from the cache since)
    with django_assert_num_queries(5):
        page = buyer_client.get(url)
    assert one == 6
    assert page.content.decode().count('class="order-card"') == 8
    with django_assert_num_queries(5):
        buyer_client.get(url, {"state": "pending_payment"})


def test_the_group_shop_runs_in_a_constant_number_of_queries(
    buyer_client, buyer_group, sku, shop, django_assert_num_queries
):
    url = shop_url(buyer_group)
    one = _queries(buyer_client, url)
    for n in range(5):
        product = ProductFactory(shop=shop)
        SkuFactory(product=product)
        SkuFactory(product=product, price=Decimal("12.50"))
        ProductImage.objects.create(product=product, image=f"products/p{n}.jpg", thumbnail=f"products/thumbs/p{n}.jpg")

    # the session, the user, membership with group and shop, products, their SKUs, their images, the
    # campaigns running in the group and the campaign prices of the products (the inbox badge, counted on the
    # first visit, comes from the cache)
    with django_assert_num_queries(8):
        page = buyer_client.get(url)
    assert one == 9
    assert "products/thumbs/p0.jpg" in html(page) and "¥12.50" in html(page)


# --- Order detail ---------------------------------------------------------------------------------------


def test_the_detail_shows_lines_money_delivery_payment_and_history_in_plain_words(buyer_client, paid_order, sku):
    page = html(buyer_client.get(order_url(paid_order)))

    assert paid_order.number in page
    assert sku.product.name in page and sku.spec in page and "¥79.80" in page
    assert "上海市徐汇区漕溪北路 1 号" in page and "王芳" in page
    assert "支付成功" in page
    assert "订单已提交" in page and "付款成功" in page
    assert "申请退款" in page and "申请售后" in page and "取消订单" not in page


def test_a_failed_payment_leaves_the_order_payable(buyer_client, buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku)
    cashier_url = buyer_client.post(reverse("orders:pay", args=[order.pk])).url

    buyer_client.post(cashier_url, {"outcome": "fail"})
    deliver_due(post=transport)

    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT and order.payments.get().state == PaymentState.FAILED
    page = html(buyer_client.get(order_url(order)))
    assert "支付失败" in page and "去付款" in page
    retry = buyer_client.post(reverse("orders:pay", args=[order.pk]))
    assert retry.url != cashier_url and order.payments.count() == 2


def test_the_cashier_settles_a_payment_once(buyer_client, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    cashier_url = buyer_client.post(reverse("orders:pay", args=[order.pk])).url
    buyer_client.post(cashier_url, {"outcome": "success"})

    page = html(buyer_client.get(cashier_url))
    buyer_client.post(cashier_url, {"outcome": "fail"})

    assert "这笔支付已完成" in page and 'value="fail"' not in page
    assert SimulatedCharge.objects.get(kind="payment").state == "succeeded"


def test_paying_a_cancelled_order_is_refused_with_a_message(buyer_client, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    buyer_client.post(reverse("orders:cancel", args=[order.pk]))

    response = buyer_client.post(reverse("orders:pay", args=[order.pk]), follow=True)

    assert "无需付款" in html(response) and not Payment.objects.exists()


# --- Cancel, confirm receipt, refund, after-sales ------------------------------------------------------


def test_a_member_cancels_an_unpaid_order_and_the_stock_comes_back(buyer_client, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku, quantity=3)
    confirm = buyer_client.get(reverse("orders:cancel", args=[order.pk]))
    assert confirm.status_code == 200 and "确定取消" in html(confirm)

    response = buyer_client.post(reverse("orders:cancel", args=[order.pk]), {"reason": "重复下单"})

    assert response.url == order_url(order)
    order.refresh_from_db()
    sku.refresh_from_db()
    assert order.state == OrderState.CANCELLED and sku.stock == 100
    page = html(buyer_client.get(order_url(order)))
    assert "订单已取消" in page and "重复下单" in page and "去付款" not in page


def test_a_paid_order_cannot_be_cancelled_by_the_member(buyer_client, paid_order, sku):
    response = buyer_client.post(reverse("orders:cancel", args=[paid_order.pk]), follow=True)

    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.PAID and "不能变为" in html(response)


def test_a_member_confirms_receipt_of_a_shipped_order(buyer_client, paid_order, operator):
    ship_order(order=paid_order, by=operator, tracking_number="SF1234567890")
    page = html(buyer_client.get(order_url(paid_order)))
    assert "商家已发货" in page and "SF1234567890" in page and "确认收货" in page

    buyer_client.post(reverse("orders:complete", args=[paid_order.pk]))

    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.COMPLETED


def test_a_member_asks_for_a_refund_with_a_reason(buyer_client, paid_order):
    url = reverse("orders:refund", args=[paid_order.pk])
    assert buyer_client.get(url).status_code == 200

    empty = buyer_client.post(url, {"reason": "   "})
    assert empty.status_code == 200 and "请填写退款原因。" in html(empty)
    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.PAID

    response = buyer_client.post(url, {"reason": "买多了"})

    assert response.url == order_url(paid_order)
    paid_order.refresh_from_db()
    assert paid_order.state == OrderState.REFUND_REQUESTED
    page = html(buyer_client.get(order_url(paid_order)))
    assert "你申请了退款" in page and "买多了" in page and "申请退款" not in page.split("订单进度")[1]


def test_an_unpaid_order_cannot_be_refunded(buyer_client, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    url = reverse("orders:refund", args=[order.pk])
    assert "不能申请退款" in html(buyer_client.get(url))

    response = buyer_client.post(url, {"reason": "不想要了"})

    order.refresh_from_db()
    assert response.status_code == 200 and "不能变为" in html(response) and order.state == OrderState.PENDING_PAYMENT


def test_a_member_opens_an_after_sales_case_with_photos(buyer_client, buyer, paid_order):
    url = reverse("orders:open_case", args=[paid_order.pk])
    assert buyer_client.get(url).status_code == 200

    response = buyer_client.post(url, {"reason": "包装破损", "photos": [png("a.png"), png("b.png")]})

    assert response.url == order_url(paid_order)
    case = AfterSalesCase.objects.get(order=paid_order)
    assert (case.member, case.reason, case.state, case.photos.count()) == (buyer, "包装破损", "open", 2)
    page = html(buyer_client.get(order_url(paid_order)))
    assert "包装破损" in page and "处理中" in page and case.photos.first().image.url in page
    assert reverse("orders:open_case", args=[paid_order.pk]) not in page  # one open case at a time


def test_a_case_without_a_reason_or_with_bad_photos_is_refused(buyer_client, paid_order):
    url = reverse("orders:open_case", args=[paid_order.pk])
    not_an_image = SimpleUploadedFile("fake.png", b"not really a png", content_type="image/png")

    no_reason = buyer_client.post(url, {"reason": "", "photos": [png()]})
    bad_photo = buyer_client.post(url, {"reason": "坏了", "photos": [not_an_image]})
    too_many = buyer_client.post(
        url, {"reason": "坏了", "photos": [png(f"{n}.png") for n in range(MAX_CASE_PHOTOS + 1)]}
    )

    assert "请描述遇到的问题。" in html(no_reason)
    assert "无法识别的图片文件" in html(bad_photo)
    assert f"最多上传 {MAX_CASE_PHOTOS} 张照片" in html(too_many)
    assert not AfterSalesCase.objects.exists()


def test_an_unpaid_order_needs_no_after_sales_case(buyer_client, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)

    response = buyer_client.post(reverse("orders:open_case", args=[order.pk]), {"reason": "坏了"})

    assert response.status_code == 200 and "可直接取消" in html(response)
    assert not AfterSalesCase.objects.exists()
