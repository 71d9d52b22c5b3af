"""Issue 4 end to end in a real browser: a member starts a bargain on their phone and shares it; a friend
opens the share link on another phone, signs in with an SMS code and cuts; both see the friend's name, the
amount cut and the new price."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from campaigns import services
from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut, BargainTask
from tests.builders.campaigns import make_bargain
from tests.builders.shops import add_person, open_shop, rice_cereal

pytestmark = pytest.mark.browser


def test_a_friend_cuts_a_bargain_from_a_share_link(phone, new_phone, live_site, shot, sign_in_by_phone):
    front = open_shop()
    starter = add_person(front, phone="+8613700004321", display_name="李婷")
    campaign = make_bargain(front.shop, rice_cereal(front.shop, price="59.90", stock=50), owner=front.owner)
    friend_phone = new_phone()  # the friend's phone: a second, separate browser (its own cookies)

    # The member signs in from the landing page and starts a bargain.
    phone.goto(f"{live_site}/m/c/{campaign.pk}/")
    expect(phone.get_by_role("heading", name="好友帮砍，有机米粉 ¥9.90 带回家").first).to_be_visible()
    phone.get_by_role("button", name="登录后发起砍价").first.click()
    sign_in_by_phone(phone, "13700004321", step="1-starter-sign-in")
    expect(phone.get_by_role("heading", name="我的砍价")).to_be_visible()  # signing in started it
    expect(phone.get_by_test_id("current-price")).to_have_text("¥59.90")
    expect(phone.get_by_test_id("original-price")).to_have_count(0)  # no struck-through price before a cut
    task = BargainTask.objects.get(starter=starter)
    share_url = phone.locator("#share-url").input_value()
    assert share_url == services.share_link(campaign, starter, task)
    shot(phone, "2-starter-bargain")

    # A friend opens the share link on their own phone: who asks, the price, and a call to sign in and cut.
    friend_phone.goto(share_url)
    expect(friend_phone.locator(".inviter")).to_contain_text("李婷 请你帮 TA 砍一刀")
    shot(friend_phone, "3-friend-opens-link")
    friend_phone.get_by_role("button", name="登录后帮 TA 砍一刀").click()
    sign_in_by_phone(friend_phone, "13912345678", step="4-friend-sign-in")
    expect(friend_phone.get_by_role("heading", name="李婷 的砍价")).to_be_visible()  # and the cut is made

    first = to_yuan(task.plan[0])
    price = Decimal("59.90") - first
    expect(friend_phone.locator(".messages")).to_contain_text(f"你帮 李婷 砍掉了 ¥{first}！")
    expect(friend_phone.get_by_test_id("my-cut")).to_contain_text(f"¥{first}")
    expect(friend_phone.get_by_test_id("current-price")).to_have_text(f"¥{price}")
    shot(friend_phone, "5-friend-cut")

    made = BargainCut.objects.get(task=task)
    assert made.number == 1 and made.amount == first and made.cutter.phone == "+8613912345678"

    # The member sees the friend's name, the amount and the new price.
    phone.reload()
    expect(phone.get_by_test_id("current-price")).to_have_text(f"¥{price}")
    expect(phone.get_by_test_id("cuts")).to_contain_text(made.cutter.public_name)
    expect(phone.get_by_test_id("cuts")).to_contain_text(f"砍掉 ¥{first}")
    shot(phone, "6-starter-sees-the-cut")
