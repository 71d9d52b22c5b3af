"""Issue 18, the member's paths: one bottom navigation (群, 活动, 订单, 我的) on every member page at phone
and desktop width, never covering the page's own call to act; the code field opens the numeric keypad and
says once where the code went."""

import pytest
from playwright.sync_api import expect

from campaigns import services
from campaigns.types.group_buy import kind as group_buy
from tests.builders.campaigns import make_two_person_group_buy
from tests.builders.orders import SHIPPING
from tests.builders.shops import add_person, open_shop, rice_cereal

pytestmark = pytest.mark.browser
TABS = ["群", "活动", "订单", "我的"]


def _shop_with_a_team():
    front = open_shop()
    shop, owner, group = front
    member = add_person(front, phone="+8613700005678", display_name="李婷")
    campaign = make_two_person_group_buy(shop, rice_cereal(shop, spec=None), owner=owner)
    services.start_due()
    campaign.refresh_from_db()
    seat = group_buy.open_team(
        campaign=campaign,
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key="nav-test",
    )
    return member, group, campaign, seat.team


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_every_member_page_has_the_same_bottom_navigation(request, screen, live_site, shot, sign_in_by_phone):
    page = request.getfixturevalue(screen)
    member, group, campaign, team = _shop_with_a_team()

    page.goto(f"{live_site}/m/groups/")
    sign_in_by_phone(page, "13700005678", step=f"{screen}-sign-in")
    pages = {
        "groups": (f"/m/groups/{group.pk}/", "群"),
        "campaigns": ("/m/c/teams/mine/", "活动"),
        "landing": (campaign.get_absolute_url(), "活动"),
        "team": (team.get_absolute_url(), "活动"),
        "orders": ("/m/orders/", "订单"),
        "profile": ("/m/me/", "我的"),
        "inbox": ("/m/inbox/", "我的"),
        "referrals": ("/m/referrals/", "我的"),
    }
    for name, (path, current) in pages.items():
        page.goto(f"{live_site}{path}")
        tabs = page.locator(".tabbar a")
        expect(tabs).to_have_text(TABS)
        expect(page.locator(".tabbar a[aria-current=page]")).to_have_text(current)
        bar = page.locator(".tabbar").bounding_box()
        assert bar["y"] + bar["height"] <= page.viewport_size["height"] + 1  # fixed to the bottom, in view
        cta = page.locator(".cta-bar")
        if cta.count():
            box = cta.bounding_box()
            assert box["y"] + box["height"] <= bar["y"] + 1, f"{name}: the call to act is under the navigation"
        shot(page, f"{screen}-{name}")
    expect(page.get_by_test_id("profile-links")).to_have_count(0)  # referrals page, not the profile
    page.goto(f"{live_site}/m/me/")
    expect(page.get_by_test_id("profile-links")).to_contain_text("我的推荐")
    expect(page.get_by_test_id("profile-links")).to_contain_text("排行榜")


def test_the_code_field_opens_the_numeric_keypad_and_one_banner_says_where_the_code_went(phone, live_site, shot):
    phone.goto(f"{live_site}/accounts/login/code/")
    phone.get_by_label("手机号").fill("13812345678")
    phone.get_by_role("button", name="获取验证码").click()
    code = phone.get_by_label("验证码")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).not_to_have_attribute("autocapitalize", "characters")
    expect(phone.locator(".messages")).to_have_count(0)
    expect(phone.get_by_text("已发送到")).to_have_count(1)
    expect(phone.locator(".tabbar")).to_have_count(0)  # signed out: nothing to navigate to yet
    shot(phone, "code")
