"""秒杀 end to end in a real browser: a member uses a coupon on a flash sale and pays less; a member
taps 立即抢购 on the landing page, signs in, confirms and pays for the last unit; the sale is sold out:
another member's landing page says 已抢光 with no buy button, and the buy page itself answers with the
sold-out page. The live server runs in another thread of this process; the test delivers the simulated
provider's outbox itself, as the worker would."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignOrder, CouponState
from orders.models import Order, OrderState
from orders.payments.simulated import deliver_due
from tests.builders.campaigns import claimed_coupon, make_last_unit_flash_sale
from tests.builders.shops import add_person, open_shop, rice_cereal

pytestmark = pytest.mark.browser

ADDRESS = "上海市徐汇区漕溪北路 88 号 2 号楼 502"


def test_a_flash_sale_sells_out(phone, new_phone, live_site, shot, sign_in_by_phone):
    front = open_shop()
    buyer = add_person(front, phone="+8613700004321", display_name="李婷")
    campaign = make_last_unit_flash_sale(
        front.shop, rice_cereal(front.shop, price="59.90", stock=50), owner=front.owner
    )
    other_phone = new_phone()  # another member's phone: a second, separate browser (its own cookies)

    # The member opens the landing page, taps 立即抢购, signs in and lands on the confirmation.
    phone.goto(f"{live_site}/m/c/{campaign.pk}/")
    expect(phone.get_by_role("heading", name="整点秒杀，有机米粉 ¥9.90").first).to_be_visible()
    expect(phone.locator("#hook").get_by_test_id("units-left")).to_have_text("剩余 1 件")
    shot(phone, "1-landing")
    phone.locator("#hook").get_by_test_id("flash-buy").click()
    sign_in_by_phone(phone, "13700004321", step="2-sign-in")
    expect(phone.get_by_role("heading", name="确认抢购")).to_be_visible()
    expect(phone.locator(".price-now")).to_contain_text("¥9.90")
    phone.locator(".segment", has_text="快递配送").click()
    phone.get_by_label("收货地址").fill(ADDRESS)
    shot(phone, "3-confirm")
    phone.get_by_test_id("submit-flash-order").click()
    expect(phone.get_by_text("抢到了！请在付款时限内完成付款。")).to_be_visible()

    # They pay on the simulated cashier; the provider's notification lands.
    phone.get_by_role("button", name="去付款").click()
    expect(phone.locator(".cashier-amount")).to_contain_text("¥9.90")
    phone.get_by_role("button", name="确认支付").click()
    phone.wait_for_url("**/orders/*/**")
    assert deliver_due() == 1
    order = Order.objects.get(member=buyer)
    assert order.state == OrderState.PAID and order.total == Decimal("9.90")
    shot(phone, "4-paid")

    # Sold out: another visitor's landing page says so, and the buy page answers with the sold-out page.
    other_phone.goto(f"{live_site}/m/c/{campaign.pk}/")
    expect(other_phone.locator("#hook").get_by_test_id("flash-sold-out")).to_have_text("已抢光")
    expect(other_phone.get_by_test_id("flash-buy")).to_have_count(0)
    shot(other_phone, "5-sold-out-landing")
    other_phone.goto(f"{live_site}/m/c/{campaign.pk}/flash/buy/")
    expect(other_phone.get_by_test_id("flash-sold-out-page")).to_contain_text("「米粉整点秒杀」已抢光")
    shot(other_phone, "6-sold-out-page")

    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.stock_used == 1 == CampaignOrder.objects.filter(campaign=campaign).count()


def test_a_member_uses_a_coupon_on_a_flash_sale_and_pays_less(phone, live_site, shot, sign_in_by_phone):
    front = open_shop()
    buyer = add_person(front, phone="+8613700004322", display_name="周敏")
    campaign = make_last_unit_flash_sale(
        front.shop, rice_cereal(front.shop, price="59.90", stock=50), owner=front.owner
    )

    def claim(name, amount_off, stacks):
        settings = {"coupon_kind": "no_threshold", "amount_off": amount_off, "stack_with_campaign_price": stacks}
        return claimed_coupon(front.shop, buyer, name=name, **settings)

    best = claim("秒杀叠加券 5 元", "5", True)
    claim("秒杀叠加券 2 元", "2", True)
    claim("店铺专享券 8 元", "8", False)  # not with a campaign price: never offered here

    phone.goto(f"{live_site}/m/c/{campaign.pk}/flash/buy/")
    sign_in_by_phone(phone, "13700004322", step="1-sign-in")
    expect(phone.get_by_role("heading", name="确认抢购")).to_be_visible()
    coupon = phone.get_by_label("优惠券")
    expect(coupon).to_have_value(str(best.pk))  # the best one preselected
    expect(coupon.locator("option", has_text="店铺专享券")).to_have_count(0)
    expect(phone.get_by_test_id("submit-flash-order")).to_have_text("提交订单 ¥4.90")
    phone.locator(".segment", has_text="快递配送").click()
    phone.get_by_label("收货地址").fill(ADDRESS)

    # Another coupon, requoted: the price follows; then back to the best one.
    coupon.select_option(index=2)  # "no coupon", the ¥5 one, the ¥2 one
    phone.get_by_role("button", name="重新计算").click()
    expect(phone.get_by_test_id("submit-flash-order")).to_have_text("提交订单 ¥7.90")
    phone.get_by_label("优惠券").select_option(str(best.pk))
    shot(phone, "2-confirm-with-coupon")
    phone.get_by_test_id("submit-flash-order").click()
    expect(phone.get_by_text("抢到了！请在付款时限内完成付款。")).to_be_visible()

    phone.get_by_role("button", name="去付款").click()
    expect(phone.locator(".cashier-amount")).to_contain_text("¥4.90")
    phone.get_by_role("button", name="确认支付").click()
    phone.wait_for_url("**/orders/*/**")
    assert deliver_due() == 1
    order = Order.objects.get(member=buyer)
    assert order.state == OrderState.PAID and order.total == Decimal("4.90") < Decimal("9.90")
    best.refresh_from_db()
    assert best.state == CouponState.USED
    shot(phone, "3-paid-less")
