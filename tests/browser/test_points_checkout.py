"""Referral points at checkout in a real browser: the member sees their balance, chooses to use points, the
recalculated total drops, and an order the points cover entirely is paid at once, with no cashier."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from groups.models import GroupState, Threshold
from groups.services import add_member
from orders.models import Order, OrderState
from referrals import points, services
from referrals.models import PointsEntryKind
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ProductFactory, ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.browser


def test_member_pays_with_points_and_a_covered_order_needs_no_payment(phone, live_site, shot, sign_in_by_phone):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    buyer = UserFactory(phone="+8613700004321", display_name="李婷")
    add_member(group=group, user=buyer, by=operator)
    services.update_referral_settings(shop=shop, by=operator, points_per_yuan=100)
    points.post_points(shop_id=shop.pk, member_id=buyer.pk, points=3000, kind=PointsEntryKind.EARN, key="seed")
    cereal = SkuFactory(
        product=ProductFactory(shop=shop, name="有机胚芽米粉"), spec="原味 250g", price=Decimal("19.90")
    )

    phone.goto(f"{live_site}/m/groups/{group.pk}/checkout/?sku={cereal.pk}&qty=1")
    sign_in_by_phone(phone, "13700004321", step="1-sign-in")
    expect(phone.get_by_role("heading", name="确认订单")).to_be_visible()
    expect(phone.get_by_text("你有 3000 积分，100 积分抵 1 元。")).to_be_visible()
    expect(phone.locator(".cta-total")).to_contain_text("¥19.90")

    # The member types how many points: first fewer than the order could take, then all it can.
    phone.get_by_label("积分抵扣").fill("500")
    phone.get_by_label("收货地址").fill("北京市朝阳区望京西路 48 号")
    phone.get_by_role("button", name="重新计算").click()
    expect(phone.locator("#checkout-money")).to_contain_text("500 积分抵扣 ¥5.00")
    expect(phone.locator(".cta-total")).to_contain_text("¥14.90")
    phone.get_by_label("积分抵扣").fill("1990")
    phone.get_by_role("button", name="重新计算").click()
    expect(phone.locator("#checkout-money")).to_contain_text("1990 积分抵扣 ¥19.90")
    expect(phone.locator(".cta-total")).to_contain_text("¥0.00")
    shot(phone, "2-checkout-with-points")
    assert not Order.objects.exists()

    phone.get_by_role("button", name="提交订单").click()
    expect(phone.get_by_text("下单成功！这笔订单无需付款。")).to_be_visible()
    expect(phone.get_by_role("heading", name="已付款")).to_be_visible()
    order = Order.objects.get(member=buyer)
    assert (order.state, order.total, order.payments.count()) == (OrderState.PAID, 0, 0)
    assert points.balance_of(shop_id=shop.pk, member_id=buyer.pk) == 1010
    shot(phone, "3-order-paid-with-points")
