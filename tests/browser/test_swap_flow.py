"""Issue 14's 换物 end to end in a real browser: two members of one group, each on their own phone. The first
signs in and lists a stroller with a photo; the second signs in, finds it in the market, offers their own
books in exchange; the first agrees; both confirm the hand-over and see the swap done. The share page of an
item carries the group's name and its invite QR code."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CampaignType, Swap, SwapListing
from campaigns.types.swap import kind as swapping
from campaigns.types.swap.models import ListingState, SwapState
from groups.models import GroupState, Threshold
from groups.services import add_member
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


def _photo(tmp_path):
    path = tmp_path / "stroller.png"
    out = BytesIO()
    Image.new("RGB", (300, 200), (180, 210, 230)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def test_two_members_agree_a_swap(phone, new_phone, live_site, shot, sign_in_by_phone, tmp_path):
    second_phone = new_phone()  # the other member's phone: a second, separate browser (its own cookies)
    shop = ShopFactory(name="好物社")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=shop, name="宝妈互助群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    alice = UserFactory(phone="+8613700005501", display_name="陈静")
    bob = UserFactory(phone="+8613700005502", display_name="刘洋")
    for person in (alice, bob):
        add_member(group=group, user=person, by=owner)
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=CampaignType.SWAP,
        name="宝妈闲置换换乐",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=30),
        all_groups=False,
        groups=[group],
        hook_title="孩子用不上的好东西，换给群里的宝妈",
        settings={"listing_days": 30, "offer_hours": 72},
    )
    campaign = services.schedule_campaign(campaign=campaign, by=owner)
    swapping.create_listing(campaign=campaign, member=bob, group=group, title="绘本 20 本", wanted="推车")
    market = live_site + reverse("campaigns:swap_market", args=[campaign.pk])

    # The first member lists a stroller with a photo.
    phone.goto(market)
    sign_in_by_phone(phone, "13700005501", step="0-alice")
    expect(phone.get_by_test_id("swap-market")).to_be_visible()
    phone.get_by_test_id("swap-new").click()
    phone.get_by_label("物品名称").fill("九成新婴儿推车")
    phone.get_by_label("想换什么").fill("儿童绘本")
    phone.locator("#id_photos").set_input_files(str(_photo(tmp_path)))
    shot(phone, "1-alice-lists")
    phone.get_by_test_id("swap-publish").click()
    expect(phone.get_by_role("heading", name="九成新婴儿推车")).to_be_visible()
    expect(phone.get_by_test_id("listing-state")).to_have_text("可交换")
    stroller = SwapListing.objects.get(title="九成新婴儿推车")
    assert stroller.photos.count() == 1

    # The second member finds it in the market and offers their books.
    second_phone.goto(market)
    sign_in_by_phone(second_phone, "13700005502", step="2-bob")
    item = second_phone.get_by_test_id("swap-item").filter(has_text="九成新婴儿推车")
    expect(item.locator("img")).to_be_visible()
    item.get_by_role("link", name="九成新婴儿推车").click()
    second_phone.get_by_label("用我的物品交换").select_option(label="绘本 20 本")
    second_phone.get_by_label("留言").fill("周末小区门口交换可以吗")
    shot(second_phone, "3-bob-offers")
    second_phone.get_by_test_id("make-offer").click()
    expect(second_phone.get_by_test_id("swap-state")).to_have_text("待回应")

    # The first member agrees from the item's page.
    phone.reload()
    offer = phone.get_by_test_id("offer").filter(has_text="刘洋")
    expect(offer).to_contain_text("绘本 20 本")
    offer.get_by_test_id("agree").click()
    expect(phone.get_by_role("status")).to_contain_text("已同意交换")
    expect(phone.get_by_test_id("swap-state")).to_have_text("已约定")
    swap = Swap.objects.get()
    assert swap.state == SwapState.AGREED

    # Both confirm the hand-over.
    phone.get_by_test_id("confirm").click()
    expect(phone.get_by_test_id("i-confirmed")).to_be_visible()
    shot(phone, "4-alice-confirmed")
    second_phone.reload()
    expect(second_phone.get_by_test_id("swap-state")).to_have_text("一方已交接")
    second_phone.get_by_test_id("confirm").click()
    expect(second_phone.get_by_test_id("swap-done")).to_be_visible()
    expect(second_phone.get_by_test_id("moves").locator("li")).to_have_count(4)
    shot(second_phone, "5-bob-done")

    swap.refresh_from_db()
    stroller.refresh_from_db()
    assert swap.state == SwapState.DONE and stroller.state == ListingState.DONE
    assert swap.owner_handed_at and swap.offerer_handed_at

    # An item still listed spreads the group: its share page names the group and shows the invite QR code.
    lego = swapping.create_listing(campaign=campaign, member=alice, group=group, title="乐高积木", price="50")
    phone.goto(live_site + reverse("campaigns:swap_share", args=[lego.share_token]))
    expect(phone.get_by_test_id("share-group")).to_have_text("宝妈互助群")
    expect(phone.get_by_test_id("share-qr")).to_be_visible()
    assert phone.get_by_test_id("share-qr").evaluate("img => img.naturalWidth") > 0
    shot(phone, "6-share")
