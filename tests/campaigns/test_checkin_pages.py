"""打卡 pages and API: a member checks in from their page or the API, a second check-in is refused, a
non-member cannot, the feed shows today's check-ins of the member's group (hidden ones left out), the
operator hides and shows a check-in (audited; a viewer may not; another shop's operator gets a 404), the
dashboard's form creates a check-in campaign, and the feed and the dashboard cost a constant number of
queries."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignState, CampaignType, CheckIn
from campaigns.types.checkin import kind as checkin
from shops.models import AuditEntry, OperatorRole
from tests.builders.campaigns import coupon_template
from tests.campaigns.checkin_support import a_group, checkin_campaign, members_of, png
from tests.factories import OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(shop):
    return a_group(shop)


@pytest.fixture
def campaign(shop):
    return checkin_campaign(shop)


@pytest.fixture
def member(group):
    return members_of(group, 1)[0]


def _page(campaign):
    return reverse("campaigns:checkin_page", args=[campaign.pk])


def _do(campaign):
    return reverse("campaigns:checkin_do", args=[campaign.pk])


def test_a_member_checks_in_from_their_page_once_a_day(client, campaign, member):
    client.force_login(member)
    page = client.get(_page(campaign))
    assert page.status_code == 200 and 'data-testid="do-checkin"' in page.content.decode()

    done = client.post(_do(campaign), {"text": ""})
    assert done.status_code == 302 and done["Location"] == _page(campaign)
    assert CheckIn.objects.filter(campaign=campaign, member=member).count() == 1
    again = client.get(_page(campaign)).content.decode()
    assert 'data-testid="checked-in"' in again and 'data-testid="streak">1<' in again

    twice = client.post(_do(campaign), {"text": ""})
    assert twice.status_code == 400
    assert CheckIn.objects.filter(campaign=campaign, member=member).count() == 1


def test_a_photo_check_in_from_the_page_shows_its_thumbnail_in_the_feed(client, shop, group, member):
    campaign = checkin_campaign(shop, settings={"proof": "photo"})
    client.force_login(member)
    refused = client.post(_do(campaign), {"text": "忘了拍照"})
    assert refused.status_code == 400 and "请上传一张照片" in refused.content.decode()

    client.post(_do(campaign), {"photo": SimpleUploadedFile("me.png", png(), content_type="image/png")})
    made = CheckIn.objects.get(campaign=campaign, member=member)
    assert made.thumbnail.url in client.get(_page(campaign)).content.decode()


def test_a_non_member_cannot_check_in_and_sees_no_feed(client, campaign, member):
    checkin.check_in(campaign=campaign, member=member, text="秘密内容")
    stranger = UserFactory()
    client.force_login(stranger)
    page = client.get(_page(campaign)).content.decode()
    assert "秘密内容" not in page and "请先加入活动所在的群" in page

    assert client.post(_do(campaign), {}).status_code == 400
    assert not CheckIn.objects.filter(member=stranger).exists()


def test_signed_out_the_page_sends_to_sign_in(client, campaign):
    response = client.get(_page(campaign))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_types_campaign_has_no_check_in_page(client, shop, member):
    from tests.campaigns.social_support import help_campaign

    other = help_campaign(shop)
    client.force_login(member)
    assert client.get(_page(other)).status_code == 404


def test_the_landing_page_calls_members_to_check_in(client, campaign, member):
    client.force_login(member)
    landing = client.get(campaign.get_absolute_url()).content.decode()
    assert 'data-testid="go-checkin"' in landing and _page(campaign) in landing


def test_a_member_fills_a_missed_day_with_a_card_from_the_page(client, shop, member):
    campaign = checkin_campaign(shop, settings={"makeup_cards": 1})
    yesterday = checkin.shop_day(timezone.now()) - timedelta(days=1)
    client.force_login(member)
    assert yesterday.strftime("%Y-%m-%d") in client.get(_page(campaign)).content.decode()

    client.post(reverse("campaigns:checkin_makeup", args=[campaign.pk]), {"day": yesterday.isoformat()})
    assert CheckIn.objects.get(member=member, made_up=True).day == yesterday
    client.post(reverse("campaigns:checkin_makeup", args=[campaign.pk]), {"day": "not-a-day"})
    assert CheckIn.objects.filter(member=member).count() == 1


# --- The API ----------------------------------------------------------------------------------------------------


def test_the_api_checks_in_and_refuses_a_second_time_with_a_code(client, campaign, member):
    client.force_login(member)
    url = reverse("api-my-checkin", args=[campaign.pk])
    state = client.get(url).json()
    assert state["can_check_in"] is True and state["streak"] == 0 and state["feed"] == []

    made = client.post(url, {"text": "第一天"}, content_type="application/json")
    assert made.status_code == 201
    body = made.json()
    assert body["checked_in_today"] and body["streak"] == 1 and body["feed"][0]["text"] == "第一天"
    assert body["feed"][0]["member"]["id"] == member.pk

    again = client.post(url, {"text": "第一天"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "already"


def test_the_api_refuses_a_non_member_and_answers_404_for_another_type(client, shop, campaign):
    from tests.campaigns.social_support import help_campaign

    client.force_login(UserFactory())
    refused = client.post(reverse("api-my-checkin", args=[campaign.pk]), {}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "not_member"
    other = help_campaign(shop)
    assert client.get(reverse("api-my-checkin", args=[other.pk])).status_code == 404


def test_the_api_fills_a_day_with_a_card(client, shop, member):
    campaign = checkin_campaign(shop, settings={"makeup_cards": 1})
    client.force_login(member)
    yesterday = checkin.shop_day(timezone.now()) - timedelta(days=1)
    url = reverse("api-my-checkin-makeup", args=[campaign.pk])
    assert client.post(url, {"day": yesterday.isoformat()}, content_type="application/json").status_code == 201
    second = client.post(url, {"day": yesterday.isoformat()}, content_type="application/json")
    assert second.status_code == 409 and second.json()["errors"][0]["code"] == "makeup_taken"
    assert client.post(url, {"day": "x"}, content_type="application/json").status_code == 400


# --- Operators ---------------------------------------------------------------------------------------------------


def test_the_operator_hides_a_check_in_from_the_feed_with_an_audit_entry(
    client, operator_client, operator, campaign, member
):
    made = checkin.check_in(campaign=campaign, member=member, text="广告：加我微信")
    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200 and "广告：加我微信" in detail.content.decode()
    assert ("今日打卡", 1) in detail.context["figures"]

    response = operator_client.post(reverse("dashboard:checkin_hide", args=[made.pk]))
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.hidden_at is not None and made.hidden_by == operator
    entry = AuditEntry.objects.get(action="campaign.checkin.hide")
    assert entry.actor == operator and entry.target_id == made.pk and entry.after == {"hidden": True}
    operator_client.post(reverse("dashboard:checkin_hide", args=[made.pk]))  # hiding again changes nothing
    assert AuditEntry.objects.filter(action="campaign.checkin.hide").count() == 1

    member_client = Client()
    member_client.force_login(member)
    assert "广告：加我微信" not in member_client.get(_page(campaign)).content.decode()
    assert checkin.standing_of(campaign, member).total_days == 1  # hidden from the feed, still the member's day

    operator_client.post(reverse("dashboard:checkin_show", args=[made.pk]))
    made.refresh_from_db()
    assert made.hidden_at is None and AuditEntry.objects.filter(action="campaign.checkin.show").count() == 1


def test_a_viewer_may_not_hide_and_another_shops_operator_gets_404(client, shop, campaign, member):
    made = checkin.check_in(campaign=campaign, member=member)
    viewer = OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user
    client.force_login(viewer)
    assert client.post(reverse("dashboard:checkin_hide", args=[made.pk])).status_code == 403

    stranger = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    client.force_login(stranger)
    assert client.post(reverse("dashboard:checkin_hide", args=[made.pk])).status_code == 404
    assert client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).status_code == 404
    made.refresh_from_db()
    assert made.hidden_at is None


def test_the_operator_api_hides_and_shows_a_check_in_audited_and_scoped_to_the_shop(
    client, shop, operator, campaign, member
):
    made = checkin.check_in(campaign=campaign, member=member, text="广告")
    hide = reverse("api-shop-checkin-hide", args=[made.pk])
    viewer = OperatorFactory(shop=shop, role=OperatorRole.VIEWER).user
    client.force_login(viewer)
    assert client.post(hide).status_code == 403
    client.force_login(OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user)
    assert client.post(hide).status_code == 404
    client.force_login(member)
    assert client.post(hide).status_code == 403
    made.refresh_from_db()
    assert made.hidden_at is None and not AuditEntry.objects.filter(action="campaign.checkin.hide").exists()

    client.force_login(operator)
    response = client.post(hide)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == made.pk and body["hidden"] is True and body["hidden_by"] == operator.pk
    assert client.post(hide).json()["hidden"] is True  # hiding again changes nothing, records nothing
    entry = AuditEntry.objects.get(action="campaign.checkin.hide")
    assert entry.actor == operator and entry.target_id == made.pk
    member_client = Client()
    member_client.force_login(member)
    assert [i["id"] for i in member_client.get(reverse("api-my-checkin", args=[campaign.pk])).json()["feed"]] == []

    shown = client.post(reverse("api-shop-checkin-show", args=[made.pk]))
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert AuditEntry.objects.filter(action="campaign.checkin.show").count() == 1
    assert [i["id"] for i in member_client.get(reverse("api-my-checkin", args=[campaign.pk])).json()["feed"]] == [
        made.pk
    ]


def test_the_dashboard_form_creates_a_check_in_campaign(operator_client, shop):
    now = timezone.localtime()
    response = operator_client.post(
        reverse("dashboard:campaign_create"),
        {
            "type": CampaignType.CHECKIN,
            "name": "21 天早起打卡",
            "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=21)).strftime("%Y-%m-%dT%H:%M"),
            "all_groups": "on",
            "hook_title": "早起打卡，连续 21 天领好礼",
            "s-window_start": "05:00",
            "s-window_end": "09:00",
            "s-proof": "photo",
            "s-milestones": "7:10,21:50",
        },
    )
    campaign = Campaign.objects.get(type=CampaignType.CHECKIN)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert campaign.settings["window_start"] == "05:00" and campaign.settings["milestones"] == [[7, 10], [21, 50]]
    assert campaign.state == CampaignState.DRAFT


def test_the_dashboard_form_names_a_bad_setting(operator_client, shop):
    now = timezone.localtime()
    response = operator_client.post(
        reverse("dashboard:campaign_create"),
        {
            "type": CampaignType.CHECKIN,
            "name": "打卡",
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
            "all_groups": "on",
            "s-window_start": "22:00",
            "s-window_end": "06:00",
            "s-proof": "text",
        },
    )
    assert response.status_code in (200, 400)
    assert "每日打卡结束时间必须晚于开始时间" in response.content.decode()
    assert not Campaign.objects.exists()


# --- Constant queries ------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_member_page_and_its_feed_cost_a_constant_number_of_queries(client, shop, group, campaign, member):
    others = members_of(group, 10)
    client.force_login(member)
    checkin.check_in(campaign=campaign, member=others[0], text="一")
    client.get(_page(campaign))  # the first request of a session warms what later ones read from the cache
    one = _queries(client, _page(campaign))
    for other in others[1:]:
        checkin.check_in(campaign=campaign, member=other, text="多")
    assert _queries(client, _page(campaign)) == one
    api = reverse("api-my-checkin", args=[campaign.pk])
    first = _queries(client, api)
    assert first == _queries(client, api)


def test_the_dashboard_page_costs_a_constant_number_of_queries(operator_client, shop, group, campaign):
    people = members_of(group, 10)
    checkin.check_in(campaign=campaign, member=people[0])
    url = reverse("dashboard:campaign_detail", args=[campaign.pk])
    operator_client.get(url)
    one = _queries(operator_client, url)
    for person in people[1:]:
        checkin.check_in(campaign=campaign, member=person)
    assert _queries(operator_client, url) == one
    figures = reverse("dashboard:campaign_figures", args=[campaign.pk])
    assert _queries(operator_client, figures) <= one
    # The milestones' coupon templates are named on the page, read together however many milestones.
    templates = [coupon_template(shop, name=f"券 {n}") for n in range(6)]
    milestones = [[7 * (n + 1), template.pk] for n, template in enumerate(templates)]
    Campaign.objects.filter(pk=campaign.pk).update(settings={**campaign.settings, "milestone_coupons": milestones[:1]})
    one = _queries(operator_client, url)
    Campaign.objects.filter(pk=campaign.pk).update(settings={**campaign.settings, "milestone_coupons": milestones})
    assert _queries(operator_client, url) == one
