"""送 gifts end to end in a real browser: a member's paid gift is forwarded; a friend opens its link on their
phone, signs in with an SMS code and claims it with a pickup point; the giver sees it claimed, and the
operator finds it in the fulfilment queue with the pickup point and marks it handed over."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CampaignType, Gift, GiftState
from campaigns.types.give import kind as giving
from groups.models import GroupState, Threshold
from groups.services import add_member
from orders.models import FulfilmentItem, FulfilmentState
from shops.models import OperatorRole
from tests.builders.orders import DjangoClientTransport, pay
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


def test_a_friend_claims_a_gift(new_phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator):
    friend_phone = new_phone()  # the friend's phone: a second, separate browser (its own cookies)
    shop = ShopFactory(name="小满咖啡")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER, user__email="owner@xiaoman.test").user
    group = GroupFactory(shop=shop, name="小满咖啡 1 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    giver = UserFactory(phone="+8613700004321", display_name="李婷")
    add_member(group=group, user=giver, by=owner)
    point = PickupPointFactory(shop=shop, name="望京店", address="北京市朝阳区望京街 1 号")
    sku = SkuFactory(product=ProductFactory(shop=shop, name="燕麦拿铁"), spec="大杯", price=Decimal("25.00"), stock=20)
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=CampaignType.GIVE,
        name="买一杯送好友",
        sku=sku,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        hook_title="请朋友喝杯燕麦拿铁",
        settings={"mode": "gift", "claim_days": 7, "on_expiry": "refund"},
    )
    services.schedule_campaign(campaign=campaign, by=owner)
    campaign.refresh_from_db()
    order = giving.buy_gift(campaign=campaign, member=giver, idempotency_key=uuid.uuid4().hex, message="生日快乐！")
    pay(order, DjangoClientTransport(Client()))
    gift = Gift.objects.get(order=order)

    # The friend opens the gift's link: who sends it, what it is, the message, and a call to sign in.
    friend_phone.goto(f"{live_site}{gift.get_absolute_url()}")
    expect(friend_phone.locator(".inviter")).to_contain_text("李婷 送你一份礼物")
    expect(friend_phone.get_by_role("heading", name="燕麦拿铁 · 大杯")).to_be_visible()
    expect(friend_phone.locator(".gift-message")).to_have_text("生日快乐！")
    shot(friend_phone, "1-friend-opens-gift")
    friend_phone.get_by_test_id("sign-in-to-claim").click()
    sign_in_by_phone(friend_phone, "13912345678", step="2-friend-sign-in")

    # Back on the card, signed in: the friend picks the pickup point and claims.
    expect(friend_phone.get_by_test_id("claim-gift")).to_be_visible()
    friend_phone.locator(".segment", has_text="到店自提").click()
    friend_phone.get_by_label("联系人").fill("韩梅梅")
    friend_phone.get_by_label("手机号").fill("13912345678")
    friend_phone.locator(".pickup-option", has_text="望京店").click()
    shot(friend_phone, "3-friend-claim-form")
    friend_phone.get_by_test_id("claim-gift").click()
    expect(friend_phone.locator(".messages")).to_contain_text("领取成功")
    expect(friend_phone.get_by_test_id("gift-status")).to_contain_text("你已领取这份礼物")
    shot(friend_phone, "4-friend-claimed")

    gift.refresh_from_db()
    assert gift.state == GiftState.CLAIMED and gift.recipient.phone == "+8613912345678"
    item = FulfilmentItem.objects.get(key=f"gift:{gift.pk}")
    assert item.pickup_point == point and item.recipient_name == "韩梅梅"

    # The operator finds it in the fulfilment queue and hands it over.
    sign_in_operator(desktop, "owner@xiaoman.test")
    desktop.goto(f"{live_site}/dashboard/orders/fulfilment/")
    queue = desktop.get_by_test_id("fulfilment-queue")
    expect(queue).to_contain_text("燕麦拿铁 · 大杯")
    expect(queue).to_contain_text("望京店")
    shot(desktop, "5-fulfilment-queue")
    desktop.get_by_test_id("hand-over").click()
    expect(desktop.locator(".flash").first).to_contain_text("已标记交付")
    item.refresh_from_db()
    assert item.state == FulfilmentState.HANDED_OVER and item.handed_over_by.email == "owner@xiaoman.test"
