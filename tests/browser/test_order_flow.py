"""Issue 3 end to end in a real browser: a member buys in their group on a phone, pays on the simulated
cashier, the provider's signed notification reaches the live server over real HTTP, and the operator
ships the order from the dashboard.

The live server runs in another thread of this process, so the data below is committed (live_server
implies transactional_db). No Celery worker runs here: the test delivers the simulated provider's
outbox itself, with the provider's own HTTP sender, as the worker would.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from groups.models import GroupState, Threshold
from groups.services import add_member, join_via_link, personal_link
from orders.models import Delivery, Order, OrderState, PaymentState, SimulatedNotificationOutbox
from orders.payments.simulated import deliver_due
from shops.models import OperatorRole
from tests.factories import (
    GroupFactory,
    OperatorFactory,
    PickupPointFactory,
    ProductFactory,
    ShopFactory,
    SkuFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

ADDRESS = "北京市朝阳区望京西路 48 号 3 号楼 1201"


def test_member_buys_pays_and_the_operator_ships(phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(
        shop=shop, role=OperatorRole.OPERATOR, user__display_name="运营小林", user__email="lin@xiaoman.test"
    ).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    friend = UserFactory(display_name="王小丫")
    add_member(group=group, user=friend, by=operator)
    buyer = UserFactory(phone="+8613700001234", display_name="李婷")
    join_via_link(user=buyer, code=personal_link(user=friend, group=group).code)
    cereal = ProductFactory(
        shop=shop,
        name="有机胚芽米粉",
        category="辅食",
        usage_cycle_days=20,
        description="6 月龄以上宝宝的第一口米粉，无添加蔗糖和食盐。",
    )
    SkuFactory(product=cereal, spec="原味 250g", price=Decimal("39.90"), stock=50)
    veg = SkuFactory(product=cereal, spec="混合蔬菜 250g", price=Decimal("45.00"), stock=20, per_member_limit=2)
    SkuFactory(product=ProductFactory(shop=shop, name="宝宝果泥 6 袋装"), spec="苹果味", price=Decimal("29.90"))
    PickupPointFactory(shop=shop, name="望京店", address="北京市朝阳区望京街 1 号")

    # The group's shop, behind the phone sign-in.
    phone.goto(f"{live_site}/m/groups/{group.pk}/shop/")
    sign_in_by_phone(phone, "13700001234", step="1-sign-in")
    phone.wait_for_url(f"**/m/groups/{group.pk}/shop/")
    expect(phone.get_by_role("heading", name="群小店")).to_be_visible()
    expect(phone.locator(".product-card")).to_have_count(2)
    shot(phone, "2-group-shop")

    # A product: choose the SKU and a quantity.
    phone.locator(".product-card", has_text="有机胚芽米粉").click()
    expect(phone.get_by_role("heading", name="有机胚芽米粉")).to_be_visible()
    phone.locator(".sku-option", has_text="混合蔬菜 250g").click()
    expect(phone.locator("#price")).to_have_text("¥45.00")
    phone.get_by_role("button", name="增加").click()
    phone.get_by_role("button", name="增加").click()  # the limit is 2 a member: the stepper stops there
    expect(phone.get_by_label("数量")).to_have_value("2")
    shot(phone, "3-product")
    phone.get_by_role("button", name="立即购买").click()

    # The confirmation: lines, delivery to an address, submit.
    expect(phone.get_by_role("heading", name="确认订单")).to_be_visible()
    expect(phone.locator(".order-line")).to_contain_text("混合蔬菜 250g · ¥45.00 × 2")
    expect(phone.locator(".cta-total")).to_contain_text("¥90.00")
    phone.locator(".segment", has_text="快递配送").click()
    expect(phone.get_by_label("联系人")).to_have_value("李婷")
    expect(phone.get_by_label("手机号")).to_have_value("13700001234")
    phone.get_by_label("收货地址").fill(ADDRESS)
    shot(phone, "4-checkout")
    phone.get_by_role("button", name="提交订单").click()

    expect(phone.get_by_text("下单成功！")).to_be_visible()
    expect(phone.get_by_role("heading", name="待付款")).to_be_visible()
    order = Order.objects.get(member=buyer)
    assert (order.state, order.total, order.delivery, order.address) == (
        OrderState.PENDING_PAYMENT,
        Decimal("90.00"),
        Delivery.SHIPPING,
        ADDRESS,
    )
    assert (order.group, order.referrer) == (group, friend)
    veg.refresh_from_db()
    assert veg.stock == 18  # reserved when the order is placed
    shot(phone, "5-order-unpaid")

    # The simulated cashier; the outcome arrives only with the provider's notification.
    phone.get_by_role("button", name="去付款").click()
    expect(phone.locator(".cashier-amount")).to_contain_text("¥90.00")
    shot(phone, "6-cashier")
    phone.get_by_role("button", name="确认支付").click()
    expect(phone.get_by_role("heading", name="待付款")).to_be_visible()
    expect(phone.get_by_text("已发起支付")).to_be_visible()
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT

    assert deliver_due() == 1  # a real, signed HTTP POST to the live server's callback
    assert SimulatedNotificationOutbox.objects.get().delivered_at is not None
    phone.reload()
    expect(phone.get_by_role("heading", name="已付款")).to_be_visible()
    expect(phone.get_by_text("付款成功，商家正在备货。")).to_be_visible()
    shot(phone, "7-order-paid")
    order.refresh_from_db()
    assert order.state == OrderState.PAID and order.paid_at is not None
    assert order.payments.get().state == PaymentState.SUCCEEDED

    # The operator finds the order in the dashboard and ships it with a tracking number.
    sign_in_operator(desktop, "lin@xiaoman.test")
    desktop.get_by_role("link", name="订单", exact=True).click()
    desktop.get_by_role("link", name=order.number).click()
    expect(desktop.get_by_role("heading", name=f"订单 {order.number}")).to_contain_text("已付款")
    expect(desktop.locator(".sub")).to_contain_text("推荐人：王小丫")
    desktop.get_by_label("运单号").fill("SF1402365598")
    shot(desktop, "8-dashboard-order")
    desktop.get_by_role("button", name="发货").click()
    expect(desktop.get_by_text("订单已发货。")).to_be_visible()
    expect(desktop.get_by_role("heading", name=f"订单 {order.number}")).to_contain_text("已发货")
    shot(desktop, "9-dashboard-shipped")

    # The member sees it on the way, and confirms receipt.
    phone.reload()
    expect(phone.get_by_role("heading", name="已发货")).to_be_visible()
    expect(phone.get_by_text("商家已发货，请留意收货。")).to_be_visible()
    expect(phone.get_by_text("运单号 SF1402365598")).to_be_visible()
    shot(phone, "10-order-shipped")
    phone.get_by_role("button", name="确认收货").click()
    expect(phone.get_by_role("heading", name="已完成")).to_be_visible()
    shot(phone, "11-order-completed")

    order.refresh_from_db()
    assert (order.state, order.tracking_number) == (OrderState.COMPLETED, "SF1402365598")
    assert list(order.transitions.order_by("at", "pk").values_list("to_state", flat=True)) == [
        OrderState.PENDING_PAYMENT,
        OrderState.PAID,
        OrderState.SHIPPED,
        OrderState.COMPLETED,
    ]
    assert order.transitions.get(to_state=OrderState.SHIPPED).by == operator
