"""群发 in a real browser (1366 px): an operator composes a broadcast to a segment, reads the preview (who will
receive it, who each rule leaves out: opted out, capped, in quiet hours) and sends it; the result page shows
the same counts as the preview, and exactly that many messages are queued."""

from datetime import time
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import Notification, NotificationSettings
from segments import services
from segments.models import Broadcast, BroadcastState
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory
from tests.segments.support import capped, joined, opted_out, paid, quiet_now

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_with_buyers(db):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR, user__email="lin@xiaoman.test").user
    # No shop-wide quiet hours: the one member in quiet hours is so by their own choice, whatever the hour.
    NotificationSettings.objects.create(shop=shop, quiet_start=time(0), quiet_end=time(0))
    group = GroupFactory(shop=shop, name="宝妈交流 1 群")
    buyers = [joined(group) for _ in range(6)]
    for buyer in buyers:
        paid(buyer, group, "128.00")
    now = timezone.now()
    opted_out(buyers[0], shop)
    capped(buyers[1], shop, now)
    quiet_now(buyers[2], shop, now)
    joined(group)  # a member who never bought: not in the segment
    services.save_segment(shop=shop, by=operator, name="买过的宝妈", min_spent=Decimal("100"))
    return shop, buyers


def test_an_operator_previews_and_sends_a_broadcast(desktop, live_site, shot, sign_in_operator, shop_with_buyers):
    shop, _buyers = shop_with_buyers
    page = desktop
    sign_in_operator(page, "lin@xiaoman.test")
    page.get_by_role("link", name="群发", exact=True).click()
    expect(page.get_by_role("heading", name="群发")).to_be_visible()
    page.get_by_role("link", name="新建群发").click()
    page.get_by_label("或发给一个人群").select_option(label="买过的宝妈")
    page.get_by_label("标题").fill("新款纸尿裤到货")
    page.get_by_label("内容").fill("老客户专享，本周下单立减 20 元。")
    shot(page, "1-compose")
    page.get_by_role("button", name="预览").click()

    expect(page.get_by_role("heading", name="发送预览")).to_be_visible()
    counts = page.locator("#outcome")
    expect(counts.locator('[data-count="audience"]')).to_have_text("6")
    expect(counts.locator('[data-count="send"]')).to_have_text("3")
    expect(counts.locator('[data-count="opted_out"]')).to_have_text("1")
    expect(counts.locator('[data-count="capped"]')).to_have_text("1")
    expect(counts.locator('[data-count="quiet_hours"]')).to_have_text("1")
    shot(page, "2-preview")
    page.get_by_role("button", name="发送给 3 人").click()

    expect(page.get_by_role("heading", name="发送结果")).to_be_visible()
    expect(page.get_by_text("群发已发送给 3 人。")).to_be_visible()
    expect(counts.locator('[data-count="send"]')).to_have_text("3")
    expect(counts.locator('[data-count="quiet_hours"]')).to_have_text("1")
    shot(page, "3-sent")
    broadcast = Broadcast.objects.get(shop=shop)
    assert broadcast.state == BroadcastState.SENT and broadcast.sent_count == 3
    assert Notification.objects.filter(kind="broadcast", shop=shop).count() == 3

    page.get_by_role("link", name="返回群发列表").click()
    expect(page.get_by_role("link", name="新款纸尿裤到货")).to_be_visible()
    shot(page, "4-history")
