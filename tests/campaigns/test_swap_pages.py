"""换物 pages: the market, listing an item with a photo, offering, agreeing and confirming from the pages;
who gets a 404 (a non-member, a third member on a swap, another shop's operator), who a 403 (a member hiding
without the power, a viewer moderating); the operators' moderation (audited); the share page and poster with
the group's name and invite QR code; the dashboard's form and figures; constant queries on the market."""

from datetime import timedelta
from io import BytesIO

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from campaigns.models import Campaign, CampaignState, CampaignType, Swap, SwapListing, SwapReport
from campaigns.types.swap import kind as swapping
from campaigns.types.swap.models import ListingState, ReportState, SwapState
from groups.models import InviteLink, MemberRole, Membership, MemberWarning
from shops.models import AuditEntry, OperatorRole
from tests.campaigns.swap_support import a_group, listing, members_of, offer, png, swap_campaign
from tests.factories import OperatorFactory, ShopFactory

pytestmark = pytest.mark.django_db


def decode(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(BytesIO(png)))]


@pytest.fixture
def group(shop):
    return a_group(shop, name="宝妈互助群")


@pytest.fixture
def campaign(shop):
    return swap_campaign(shop)


@pytest.fixture
def people(group):
    return members_of(group, 3)


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_member_lists_an_item_with_a_photo_and_another_sees_it(campaign, group, people):
    alice, bob, _carol = people
    page = _as(alice).post(
        reverse("campaigns:swap_new", args=[campaign.pk]),
        {
            "group": group.pk,
            "title": "九成新婴儿推车",
            "description": "用了半年",
            "wanted": "儿童绘本",
            "price": "",
            "handover": "pickup",
            "photos": [SimpleUploadedFile("p.png", png(), content_type="image/png")],
        },
    )
    item = SwapListing.objects.get()
    assert page.status_code == 302 and page["Location"] == reverse("campaigns:swap_listing", args=[item.pk])

    market = _as(bob).get(reverse("campaigns:swap_market", args=[campaign.pk]))
    assert market.status_code == 200 and "九成新婴儿推车" in market.content.decode()
    assert 'data-testid="money-note"' in market.content.decode()
    photo = _as(bob).get(reverse("campaigns:swap_photo", args=[item.photos.get().pk]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"


def test_the_listing_form_names_what_is_wrong(campaign, group, people):
    page = _as(people[0]).post(
        reverse("campaigns:swap_new", args=[campaign.pk]),
        {"group": group.pk, "title": "杯子", "wanted": "", "price": "abc", "handover": "pickup"},
    )
    assert page.status_code == 400 and "请填写有效的金额" in page.content.decode()
    assert not SwapListing.objects.exists()


def test_offer_agree_and_confirm_through_the_pages(campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group)
    books = listing(campaign, bob, group, title="绘本 20 本")

    made = _as(bob).post(reverse("campaigns:swap_offer", args=[item.pk]), {"offered_listing": books.pk})
    swap = Swap.objects.get()
    assert made.status_code == 302 and swap.offered_listing == books

    assert _as(alice).post(reverse("campaigns:swap_act", args=[swap.pk, "agree"])).status_code == 302
    _as(alice).post(reverse("campaigns:swap_act", args=[swap.pk, "confirm"]))
    _as(bob).post(reverse("campaigns:swap_act", args=[swap.pk, "confirm"]))
    swap.refresh_from_db()
    assert swap.state == SwapState.DONE
    page = _as(bob).get(reverse("campaigns:swap_detail", args=[swap.pk])).content.decode()
    assert 'data-testid="swap-done"' in page
    assert "一方已交接" in page and "handed_one" not in page  # every move, in words


def test_a_refused_offer_is_shown_on_the_item_page(campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group)
    page = _as(bob).post(reverse("campaigns:swap_offer", args=[item.pk]), {"price": ""})
    assert page.status_code == 400 and "请选择一件你的物品，或填写出价" in page.content.decode()


def test_denials_non_member_third_member_and_bad_action(shop, campaign, group, people):
    alice, bob, carol = people
    item = listing(campaign, alice, group)
    swap = offer(item, bob)
    outsider = members_of(a_group(shop), 1)[0]
    stranger = _as(outsider)
    assert stranger.get(reverse("campaigns:swap_listing", args=[item.pk])).status_code == 404
    assert stranger.post(reverse("campaigns:swap_offer", args=[item.pk]), {"price": "5"}).status_code == 404
    assert stranger.get(reverse("campaigns:swap_photo", args=[999999])).status_code == 404
    assert stranger.get(reverse("campaigns:swap_poster", args=[item.pk])).status_code == 404
    third = _as(carol)
    assert third.get(reverse("campaigns:swap_detail", args=[swap.pk])).status_code == 404
    assert third.post(reverse("campaigns:swap_act", args=[swap.pk, "agree"])).status_code == 404
    assert _as(alice).post(reverse("campaigns:swap_act", args=[swap.pk, "explode"])).status_code == 404
    # A member hiding without the power: 403, nothing hidden.
    assert third.post(reverse("campaigns:swap_listing_hide", args=[item.pk])).status_code == 403
    # Only the owner takes an item down.
    assert third.post(reverse("campaigns:swap_listing_withdraw", args=[item.pk])).status_code == 404
    swap.refresh_from_db()
    item.refresh_from_db()
    assert swap.state == SwapState.OFFERED and item.hidden_at is None and item.state == ListingState.LISTED
    # Signed out: to the sign-in page.
    assert Client().get(reverse("campaigns:swap_listing", args=[item.pk])).status_code == 302


def test_a_group_admin_hides_from_the_member_page(campaign, group, people):
    alice, _bob, carol = people
    Membership.objects.filter(group=group, user=carol).update(role=MemberRole.ADMIN)
    item = listing(campaign, alice, group)
    page = _as(carol).get(reverse("campaigns:swap_listing", args=[item.pk])).content.decode()
    assert 'data-testid="hide-listing"' in page
    assert _as(carol).post(reverse("campaigns:swap_listing_hide", args=[item.pk])).status_code == 302
    item.refresh_from_db()
    assert item.hidden_by == carol
    assert AuditEntry.objects.get(action="campaign.swap.hide").actor == carol


def test_report_then_operator_warns_and_removes_from_swaps(operator_client, operator, campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group, title="加我微信买代购")
    reported = _as(bob).post(reverse("campaigns:swap_report", args=[item.pk]), {"reason": "广告", "about": "listing"})
    assert reported.status_code == 302
    report = SwapReport.objects.get()

    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200 and 'data-testid="swap-report-row"' in detail.content.decode()
    operator_client.post(reverse("dashboard:swap_report_act", args=[report.pk, "warn"]), {"rule": "禁止发广告"})
    assert MemberWarning.objects.get(member_id=alice.pk).by == operator
    report.refresh_from_db()
    assert report.state == ReportState.HANDLED and report.handled_by == operator

    again = swapping.report(campaign=campaign, reporter=bob, member=alice, reason="继续发广告")
    operator_client.post(reverse("dashboard:swap_report_act", args=[again.pk, "ban"]))
    item.refresh_from_db()
    assert item.state == ListingState.REMOVED
    actions = set(AuditEntry.objects.filter(actor=operator).values_list("action", flat=True))
    assert {"group.member.warn", "campaign.swap.ban", "campaign.swap.report"} <= actions


def test_operator_hides_and_resolves_a_dispute_viewer_and_other_shop_may_not(shop, campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group)
    swap = offer(item, bob)
    swapping.agree(swap=swap, member=alice)
    swapping.dispute(swap=swap, member=bob, note="东西坏了")

    viewer = _as(OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user)
    assert viewer.post(reverse("dashboard:swap_hide", args=[item.pk])).status_code == 403
    foreign = _as(OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user)
    assert foreign.post(reverse("dashboard:swap_hide", args=[item.pk])).status_code == 404
    assert foreign.post(reverse("dashboard:swap_resolve", args=[swap.pk, "done"])).status_code == 404
    assert foreign.get(reverse("dashboard:swap_photo", args=[1])).status_code == 404
    item.refresh_from_db()
    swap.refresh_from_db()
    assert item.hidden_at is None and swap.state == SwapState.DISPUTED

    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    ops = _as(operator)
    assert ops.post(reverse("dashboard:swap_resolve", args=[swap.pk, "done"]), {"note": "已核实"}).status_code == 302
    swap.refresh_from_db()
    assert swap.state == SwapState.DONE
    assert AuditEntry.objects.get(action="campaign.swap.resolve").actor == operator


def test_share_page_and_poster_carry_the_group_name_and_invite_qr(campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group)
    share = Client().get(reverse("campaigns:swap_share", args=[item.share_token]))
    text = share.content.decode()
    assert share.status_code == 200 and "宝妈互助群" in text and 'data-testid="share-qr"' in text
    owners_link = InviteLink.objects.get(inviter=alice, group=group, is_personal=True)
    assert owners_link.public_url in text
    qr = Client().get(reverse("campaigns:swap_share_qr", args=[item.share_token]))
    assert qr.status_code == 200 and decode(qr.content) == [owners_link.public_url]

    # The poster a member forwards carries their own invite link to the group (a swap spreads the group).
    poster = _as(bob).get(reverse("campaigns:swap_poster", args=[item.pk]))
    bobs_link = InviteLink.objects.get(inviter=bob, group=group, is_personal=True)
    assert poster.status_code == 200 and decode(poster.content) == [bobs_link.public_url]

    assert Client().get(reverse("campaigns:swap_share", args=["0" * 32])).status_code == 404
    swapping.withdraw_listing(listing=item, member=alice)
    assert Client().get(reverse("campaigns:swap_share", args=[item.share_token])).status_code == 404


def test_the_market_costs_a_constant_number_of_queries(campaign, group, people, django_assert_max_num_queries):
    alice, bob, _carol = people
    client = _as(bob)
    url = reverse("campaigns:swap_market", args=[campaign.pk])
    listing(campaign, alice, group, photos=[SimpleUploadedFile("a.png", png())])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(6):
        listing(campaign, alice, group, title=f"物品{n}", photos=[SimpleUploadedFile("a.png", png())])
        offer(SwapListing.objects.get(title=f"物品{n}"), bob)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


def test_the_dashboard_form_creates_a_swap_campaign_and_names_a_bad_setting(operator_client, shop):
    now = timezone.localtime()
    fields = {
        "type": CampaignType.SWAP,
        "name": "闲置换换乐",
        "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "all_groups": "on",
        "hook_title": "闲置不浪费，群友换着用",
    }
    bad = operator_client.post(reverse("dashboard:campaign_create"), {**fields, "s-listing_days": "999"})
    assert bad.status_code == 400 and "物品有效天数须在 1–180 之间" in bad.content.decode()
    made = operator_client.post(
        reverse("dashboard:campaign_create"), {**fields, "s-listing_days": "14", "s-offer_hours": "48"}
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    campaign = Campaign.objects.get(type=CampaignType.SWAP)
    assert campaign.settings == {"listing_days": 14, "offer_hours": 48} and campaign.state == CampaignState.DRAFT


def test_the_dashboard_shows_live_figures(operator_client, campaign, group, people):
    alice, bob, _carol = people
    offer(listing(campaign, alice, group), bob)
    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert ("可交换物品", 1) in detail.context["figures"] and ("待回应出价", 1) in detail.context["figures"]
    figures = operator_client.get(reverse("dashboard:campaign_figures", args=[campaign.pk]))
    assert figures.status_code == 200


def test_the_landing_page_sends_members_to_the_market(campaign, people):
    page = _as(people[0]).get(reverse("campaigns:landing", args=[campaign.pk])).content.decode()
    assert reverse("campaigns:swap_market", args=[campaign.pk]) in page
