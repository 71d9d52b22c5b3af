"""Issue 18's operator acceptance in a real browser: from the dashboard home, an operator launches a 拼团
through the launch wizard and downloads its poster in at most 8 clicks and 4 typed fields, counted here
by wrapping every click and fill (1366 px). Every step of the wizard is also photographed at 1366 px and
at 390 px into test-artifacts/, with a step's validation message and the preview's real landing page."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignState
from orders import catalog
from shops.models import AuditEntry, OperatorRole
from tests.factories import OperatorFactory, ProductFactory, ShopFactory, SkuFactory
from tests.orders.dashboard_support import png

pytestmark = pytest.mark.browser

MAX_CLICKS, MAX_FIELDS = 8, 4


class Counted:
    """The operator's hands: every click and every typed field goes through here and is counted."""

    def __init__(self):
        self.clicks, self.fields, self.log = 0, 0, []

    def click(self, locator, what: str) -> None:
        self.clicks += 1
        self.log.append(f"click {self.clicks}: {what}")
        locator.click()

    def fill(self, locator, text: str, what: str) -> None:
        self.fields += 1
        self.log.append(f"type {self.fields}: {what} = {text}")
        locator.fill(text)


@pytest.fixture
def shop_with_rice(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR, user__email="lin@xiaoman.test").user
    product = ProductFactory(shop=shop, name="有机胚芽米粉")
    SkuFactory(product=product, spec="500g", price=Decimal("58.00"), stock=40)
    catalog.add_product_image(
        product=product, by=operator, upload=SimpleUploadedFile("rice.png", png((320, 320)), content_type="image/png")
    )
    SkuFactory(product=ProductFactory(shop=shop, name="婴儿湿巾"), spec="80 抽 × 10", price=Decimal("39.90"))
    return shop, operator


def test_an_operator_launches_a_group_buy_and_downloads_its_poster(
    desktop, live_site, shot, sign_in_operator, shop_with_rice
):
    page, hands = desktop, Counted()
    sign_in_operator(page, "lin@xiaoman.test")
    page.goto(f"{live_site}/dashboard/")

    hands.click(page.get_by_role("link", name="发起活动"), "发起活动 on the dashboard home")
    hands.click(page.get_by_role("link", name="拼团"), "the 拼团 card")
    hands.click(page.get_by_label("有机胚芽米粉 · 500g"), "the product")
    hands.click(page.get_by_role("button", name="下一步：设置规则"), "next")
    expect(page.get_by_label("成团人数")).to_have_value("3")  # a default, shown
    hands.fill(page.get_by_label("拼团价（元）"), "45.00", "the group price")
    hands.click(page.get_by_role("button", name="下一步：预览"), "next")
    expect(page.frame_locator("iframe").locator(".price-now").first).to_contain_text("¥45.00")
    hands.click(page.get_by_role("button", name="立即上线"), "立即上线")
    expect(page.get_by_text("活动已上线")).to_be_visible()
    with page.expect_download() as download:
        hands.click(page.get_by_role("link", name="下载海报"), "下载海报")
    with open(download.value.path(), "rb") as poster:
        assert poster.read(4) == b"\x89PNG"
    shot(page, "launched")

    (shot.folder / "counts.json").write_text(
        json.dumps({"clicks": hands.clicks, "typed_fields": hands.fields, "log": hands.log}, ensure_ascii=False)
    )
    print(f"\nlaunch wizard: {hands.clicks} clicks, {hands.fields} typed fields", *hands.log, sep="\n  ")
    assert hands.clicks <= MAX_CLICKS and hands.fields <= MAX_FIELDS, hands.log
    campaign = Campaign.objects.get()
    assert campaign.state == CampaignState.RUNNING and campaign.settings["group_price"] == "45.00"
    assert campaign.name == "有机胚芽米粉 · 拼团" and campaign.settings["team_size"] == 3
    assert list(
        AuditEntry.objects.filter(action__startswith="campaign.").order_by("pk").values_list("action", flat=True)
    ) == [
        "campaign.create",
        "campaign.launch",
    ]
    # The campaign page: its own link (nobody's referral), the QR code, the poster and the live figures.
    expect(page.locator("#campaign-url")).to_have_value(f"{live_site}{campaign.get_absolute_url()}")
    expect(page.get_by_alt_text("活动二维码")).to_be_visible()
    expect(page.get_by_alt_text("活动海报")).to_be_visible()
    expect(page.locator("#campaign-figures")).to_be_visible()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_every_step_of_the_wizard_at_both_widths(request, screen, live_site, shot, sign_in_operator, shop_with_rice):
    page = request.getfixturevalue(screen)
    sign_in_operator(page, "lin@xiaoman.test")
    page.goto(f"{live_site}/dashboard/")
    shot(page, f"{screen}-0-home")

    page.get_by_role("link", name="发起活动").click()
    expect(page.get_by_role("heading", name="发起活动")).to_be_visible()
    shot(page, f"{screen}-1-type")

    page.get_by_role("link", name="拼团").click()
    page.get_by_role("button", name="下一步：设置规则").click()
    expect(page.get_by_role("alert")).to_contain_text("商品规格：这种活动需要选择商品规格。")
    shot(page, f"{screen}-2-product-error")
    page.get_by_label("有机胚芽米粉 · 500g").click()
    shot(page, f"{screen}-2-product")
    page.get_by_role("button", name="下一步：设置规则").click()

    page.get_by_label("拼团价（元）").fill("60")
    page.get_by_role("button", name="下一步：预览").click()
    expect(page.get_by_role("alert")).to_contain_text("拼团价（元）：拼团价必须低于商品原价 ¥58.00。")
    shot(page, f"{screen}-3-numbers-error")
    page.get_by_role("button", name="上一步").click()
    expect(page.get_by_label("有机胚芽米粉 · 500g")).to_be_checked()  # going back keeps the choice
    page.get_by_role("button", name="下一步：设置规则").click()
    expect(page.get_by_label("拼团价（元）")).to_have_value("60")  # and what was typed
    page.get_by_label("拼团价（元）").fill("45")
    page.get_by_text("高级设置").click()
    shot(page, f"{screen}-3-numbers-advanced")
    page.get_by_role("button", name="下一步：预览").click()

    expect(page.frame_locator("iframe").get_by_text("有机胚芽米粉 · 拼团").first).to_be_visible()
    expect(page.frame_locator("iframe").locator(".price-now").first).to_contain_text("¥45")
    poster = page.get_by_alt_text("分享海报预览")
    expect(poster).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=poster.element_handle())
    shot(page, f"{screen}-4-preview")
    page.get_by_role("button", name="立即上线").click()
    expect(page.get_by_text("活动已上线")).to_be_visible()
    shot(page, f"{screen}-5-campaign-page")
    assert Campaign.objects.get().state == CampaignState.RUNNING
