"""Issue 15's walk, its first half, on a phone (390 px): a member joins a group through a friend's link,
sees the running 拼团 on the group page (with its offer and time left), opens a team from there and pays;
back on the group page the card shows their own team and the seats it lacks, the group shop and the
product's page show the 拼团 price with a link into it, and 活动 lists the team.

The live server runs in another thread of this process; no Celery worker runs here: the test delivers the
simulated provider's outbox itself, as the worker would.
"""

import pytest
from playwright.sync_api import expect

from campaigns.models import SeatState, Team, TeamState
from groups.services import personal_link
from orders.payments.simulated import deliver_due
from tests.builders.campaigns import GROUP_BUY_LANDING, make_two_person_group_buy
from tests.builders.shops import add_person, open_shop, rice_cereal

pytestmark = pytest.mark.browser

ADDRESS = "上海市徐汇区漕溪北路 88 号 2 号楼 502"


def test_a_new_member_sees_the_running_group_buy_on_the_group_page_and_opens_a_team(
    phone, live_site, shot, sign_in_by_phone
):
    front = open_shop()
    shop, owner, group = front
    friend = add_person(front, display_name="王小丫")
    campaign = make_two_person_group_buy(shop, rice_cereal(shop), owner=owner, **GROUP_BUY_LANDING)

    # The member joins through the friend's link and lands on the group page.
    phone.goto(personal_link(user=friend, group=group).public_url)
    phone.get_by_role("button", name="登录并加入").click()
    sign_in_by_phone(phone, "13812345678", step="1-sign-in")
    expect(phone.get_by_text("欢迎加入「小满宝妈辅食交流 3 群」！")).to_be_visible()

    # The running 拼团 is on the group page: its title, offer and time left, one tap away.
    offers = phone.get_by_test_id("group-offers")
    expect(offers).to_contain_text("两人成团，米粉半价")
    expect(offers).to_contain_text("拼团价 ¥19.90 · 2 人团")
    expect(offers).to_contain_text("活动还剩")
    expect(phone.get_by_test_id("offer-mine")).to_have_count(0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(phone, "2-group-page-with-running-group-buy")

    # From the group page: the campaign, 我要开团, the order, the cashier, back on the team page.
    offers.get_by_role("link", name="两人成团，米粉半价").click()
    expect(phone.get_by_role("heading", name="两人成团，米粉半价").first).to_be_visible()
    shot(phone, "3-campaign-landing")
    phone.locator("#hook").get_by_role("link", name="我要开团").click()
    expect(phone.get_by_role("heading", name="确认开团")).to_be_visible()
    expect(phone.locator(".price-now")).to_contain_text("¥19.90")
    phone.locator(".segment", has_text="快递配送").click()
    phone.get_by_label("联系人").fill("陈静")
    phone.get_by_label("收货地址").fill(ADDRESS)
    shot(phone, "4-open-team-checkout")
    phone.get_by_role("button", name="提交订单").click()
    phone.get_by_role("button", name="去付款").click()
    phone.get_by_role("button", name="确认支付").click()
    phone.wait_for_url("**/teams/*/")
    assert deliver_due() == 1  # the provider's signed notification reaches the live server over HTTP
    phone.reload()
    expect(phone.get_by_test_id("team-status")).to_contain_text("还差 1 人成团")
    shot(phone, "5-team-open")

    team = Team.objects.get(campaign=campaign)
    assert team.state == TeamState.OPEN and team.group == group
    assert team.seats.get().state == SeatState.SEATED and team.leader.phone == "+8613812345678"

    # Back on the group page the card shows the member's own team, the seats it lacks and its time left.
    phone.goto(f"{live_site}/m/groups/{group.pk}/")
    mine = phone.get_by_test_id("offer-mine")
    expect(mine).to_contain_text("我的团 · 还差 1 人成团")
    expect(mine).to_contain_text("剩 ")
    shot(phone, "6-group-page-my-team")
    mine.click()
    expect(phone.get_by_test_id("team-status")).to_contain_text("还差 1 人成团")

    # The group shop lists the campaign too; the product's card and page show its 拼团 price, linked to it.
    phone.goto(f"{live_site}/m/groups/{group.pk}/")
    phone.get_by_role("link", name="群小店").click()
    expect(phone.get_by_test_id("group-offers")).to_contain_text("我的团 · 还差 1 人成团")
    expect(phone.get_by_test_id("card-offer")).to_contain_text("拼团 ¥19.90")
    phone.locator(".product-card", has_text="有机胚芽米粉").click()
    offer = phone.get_by_test_id("product-offer")
    expect(offer).to_contain_text("拼团价 ¥19.90 · 两人成团，米粉半价")
    shot(phone, "7-product-page-campaign-price")
    offer.click()
    expect(phone.get_by_role("heading", name="两人成团，米粉半价").first).to_be_visible()

    # 活动 in the bottom navigation: my own teams (and bargains, help tasks and coupons when there are any).
    phone.locator(".tabbar").get_by_role("link", name="活动").click()
    expect(phone.get_by_test_id("mine-group_buy")).to_contain_text("两人成团，米粉半价")
    expect(phone.get_by_test_id("mine-group_buy")).to_contain_text("还差 1 人成团")
    shot(phone, "8-my-participations")
