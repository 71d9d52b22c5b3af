"""券 end to end in a real browser: a member opens a coupon's share page on a phone, signs in to claim it,
buys in their group with the coupon preselected at checkout and pays less on the simulated cashier.

The live server runs in another thread of this process (live_server implies transactional_db). No Celery
worker runs here: the test delivers the simulated provider's outbox itself, as the worker would.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from campaigns.models import Coupon, CouponState
from groups.models import GroupState, Threshold
from groups.services import join_via_link
from orders.models import Order, OrderState
from orders.payments.simulated import deliver_due
from tests.builders.campaigns import coupon_template
from tests.factories import GroupFactory, InviteLinkFactory, ProductFactory, ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.browser

ADDRESS = "杭州市西湖区文三路 90 号 5 号楼 301"


def test_a_member_claims_a_coupon_and_pays_less(phone, live_site, shot, sign_in_by_phone):
    shop = ShopFactory(name="小满母婴生活馆")
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 5 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    buyer = UserFactory(phone="+8613700005678", display_name="陈静")
    join_via_link(user=buyer, code=InviteLinkFactory(group=group).code)
    cereal = ProductFactory(shop=shop, name="有机胚芽米粉礼盒")
    SkuFactory(product=cereal, spec="6 罐装", price=Decimal("120.00"), stock=10)
    template = coupon_template(shop, name="新人满 100 减 20", stock_cap=50)

    # The coupon's share page: claim, behind the phone sign-in.
    phone.goto(f"{live_site}{template.get_absolute_url()}")
    expect(phone.get_by_test_id("coupon-face")).to_contain_text("满 100 减 20")
    shot(phone, "1-coupon-landing")
    phone.get_by_role("button", name="立即领取").first.click()
    sign_in_by_phone(phone, "13700005678", step="2-sign-in")
    expect(phone.get_by_test_id("coupon-held")).to_be_visible()
    shot(phone, "3-claimed")
    coupon = Coupon.objects.get(member=buyer)
    assert coupon.state == CouponState.AVAILABLE

    # The coupon centre lists it as the member's own.
    phone.goto(f"{live_site}/m/c/coupons/")
    expect(phone.get_by_test_id("my-coupons")).to_contain_text("新人满 100 减 20")

    # Buy in the group: the checkout preselects the coupon and the total is 20 less.
    phone.goto(f"{live_site}/m/groups/{group.pk}/shop/")
    phone.locator(".product-card", has_text="有机胚芽米粉礼盒").click()
    phone.get_by_role("button", name="立即购买").click()
    expect(phone.get_by_role("heading", name="确认订单")).to_be_visible()
    expect(phone.get_by_label("优惠券")).to_have_value(str(coupon.pk))
    expect(phone.locator(".cta-total")).to_contain_text("¥100.00")
    phone.locator(".segment", has_text="快递配送").click()
    phone.get_by_label("收货地址").fill(ADDRESS)
    shot(phone, "4-checkout-with-coupon")
    phone.get_by_role("button", name="提交订单").click()

    expect(phone.get_by_role("heading", name="待付款")).to_be_visible()
    order = Order.objects.get(member=buyer)
    assert (order.subtotal, order.total) == (Decimal("120.00"), Decimal("100.00"))
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order) == (CouponState.USED, order)

    phone.get_by_role("button", name="去付款").click()
    expect(phone.locator(".cashier-amount")).to_contain_text("¥100.00")
    shot(phone, "5-cashier")
    phone.get_by_role("button", name="确认支付").click()
    assert deliver_due() == 1
    order.refresh_from_db()
    assert order.state == OrderState.PAID
