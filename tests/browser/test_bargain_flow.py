"""Issue 4 end to end in a real browser: a member starts a bargain on their phone and shares it; a friend
opens the share link on another phone, signs in with an SMS code and cuts; both see the friend's name, the
amount cut and the new price."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut, BargainTask, CampaignType
from groups.models import GroupState, Threshold
from groups.services import add_member
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ProductFactory, ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def friend_phone(browser):
    """The friend's phone: a second, separate browser (its own cookies)."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_friend_cuts_a_bargain_from_a_share_link(phone, friend_phone, live_site, shot, sign_in_by_phone):
    shop = ShopFactory(name="小满母婴生活馆")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    starter = UserFactory(phone="+8613700004321", display_name="李婷")
    add_member(group=group, user=starter, by=owner)
    sku = SkuFactory(
        product=ProductFactory(shop=shop, name="有机胚芽米粉"), spec="原味 250g", price=Decimal("59.90"), stock=50
    )
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=CampaignType.BARGAIN,
        name="米粉砍到 9.9",
        sku=sku,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        hook_title="好友帮砍，有机米粉 ¥9.90 带回家",
        hook_text="每位好友砍一刀，砍到底价即可购买。",
        settings={"floor_price": "9.90", "min_cuts": 3, "time_limit_minutes": 24 * 60, "first_cut_share": "0.60"},
    )
    services.schedule_campaign(campaign=campaign, by=owner)

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
