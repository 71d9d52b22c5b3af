"""Issue 18, the operator's side: a campaign's dashboard page shows its rules in words, its own link with a
copy button, its QR code and a poster to download (at 1366 px and at 390 px)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from shops.models import OperatorRole
from tests.factories import OperatorFactory, ProductFactory, ShopFactory, SkuFactory

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_operator_copies_the_link_and_downloads_the_poster(request, screen, live_site, shot, sign_in_operator):
    page = request.getfixturevalue(screen)
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR, user__email="lin@xiaoman.test").user
    sku = SkuFactory(product=ProductFactory(shop=shop, name="有机胚芽米粉"), price=Decimal("58.00"), stock=20)
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=operator,
        type="bargain",
        name="好友帮砍 米粉",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        sku=sku,
        settings={"floor_price": "9.90", "min_cuts": 3, "time_limit_minutes": 24 * 60},
    )

    sign_in_operator(page, "lin@xiaoman.test")
    page.goto(f"{live_site}/dashboard/campaigns/{campaign.pk}/")
    expect(page.locator(".facts")).to_contain_text("底价（元）")
    expect(page.locator(".facts")).not_to_contain_text("floor_price")
    expect(page.locator(".facts")).to_contain_text("不限")
    link = page.locator("#campaign-url")
    expect(link).to_have_value(f"{live_site}{campaign.get_absolute_url()}")
    expect(page.get_by_alt_text("活动二维码")).to_be_visible()
    shot(page, f"{screen}-campaign-share")
    if screen == "phone":
        # The dashboard has no phone layout (a desktop page, zoomed out): read the poster's address only.
        href = page.get_by_role("link", name="下载海报").get_attribute("href")
        poster = page.request.get(f"{live_site}{href}")
        assert poster.body()[:4] == b"\x89PNG"
        return

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="复制链接").click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载海报").click()
    with open(download.value.path(), "rb") as poster:
        assert poster.read(4) == b"\x89PNG"
