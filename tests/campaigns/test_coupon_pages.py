"""券 pages and API: the operator makes a coupon template in the dashboard (another shop's is a 404), a
member claims from the landing page or the coupon centre and sees only their own coupons, the API does
the same; the coupon centre and the dashboard's campaign list cost a constant number of queries; the
campaign list and the member's group page show the coupon type."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignState, CampaignType, Coupon
from campaigns.types.coupon import kind as coupons
from tests.builders.campaigns import coupon_template

from .coupon_support import member_of

pytestmark = pytest.mark.django_db


def _form(**overrides):
    now = timezone.localtime()
    data = {
        "type": CampaignType.COUPON,
        "name": "新人满 100 减 20",
        "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "all_groups": "on",
        "stock_cap": "100",
        "per_member_limit": "1",
        "hook_title": "新人专享券",
        "s-coupon_kind": "threshold",
        "s-amount_off": "20",
        "s-threshold": "100",
        "s-scope": "all",
        "s-validity": "relative",
        "s-valid_days": "7",
        "s-audience": "everyone",
        "s-return_on_refund": "on",
        "s-in_centre": "on",
    }
    data.update(overrides)
    return data


def test_an_operator_makes_a_coupon_template_in_the_dashboard(operator_client, shop):
    listed = operator_client.get(reverse("dashboard:campaigns"))
    assert CampaignType.COUPON in [kind.code for kind in listed.context["kinds"]]
    assert operator_client.get(reverse("dashboard:campaign_create") + "?type=coupon").status_code == 200

    response = operator_client.post(reverse("dashboard:campaign_create"), _form())
    campaign = Campaign.objects.get(type=CampaignType.COUPON)
    assert response.status_code == 302
    assert campaign.settings["amount_off"] == "20.00" and campaign.settings["in_centre"] is True
    operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "schedule"]))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING

    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200
    assert ("已发放", 0) in detail.context["figures"]
    assert 'id="coupons"' in detail.content.decode()
    assert operator_client.get(reverse("dashboard:campaign_poster", args=[campaign.pk])).status_code == 200
    page = operator_client.get(reverse("dashboard:campaigns")).content.decode()
    assert "新人满 100 减 20" in page and "优惠券" in page


def test_a_bad_coupon_term_is_shown_next_to_its_field(operator_client):
    response = operator_client.post(reverse("dashboard:campaign_create"), _form(**{"s-threshold": "10"}))
    assert response.status_code in (200, 400)
    assert "使用门槛不能低于减免金额。" in response.content.decode()
    assert not Campaign.objects.exists()


def test_another_shops_coupon_template_is_a_404_in_the_dashboard(operator_client, other_shop):
    foreign = coupon_template(other_shop)
    for name in ("campaign_detail", "campaign_edit", "campaign_poster"):
        assert operator_client.get(reverse(f"dashboard:{name}", args=[foreign.pk])).status_code == 404


def test_a_member_claims_from_the_landing_page(client, shop):
    template = coupon_template(shop)
    member, _group = member_of(shop)
    client.force_login(member)
    landing = client.get(template.get_absolute_url()).content.decode()
    assert "满 100 减 20" in landing and 'data-testid="claim-coupon"' in landing

    response = client.post(reverse("campaigns:coupon_claim", args=[template.pk]))
    assert response.status_code == 302 and response.url == template.get_absolute_url()
    coupon = Coupon.objects.get()
    assert (coupon.member, coupon.channel) == (member, "link")
    again = client.get(template.get_absolute_url()).content.decode()
    assert 'data-testid="coupon-held"' in again and 'data-testid="claim-coupon"' not in again


def test_a_signed_out_tap_is_finished_after_signing_in(client, shop):
    template = coupon_template(shop)
    response = client.post(reverse("campaigns:coupon_claim", args=[template.pk]))
    assert response.status_code == 302 and "login" in response.url
    member, _group = member_of(shop)
    client.force_login(member)  # keeps the session: the remembered tap
    client.get(reverse("campaigns:coupon_claim", args=[template.pk]))
    assert Coupon.objects.filter(member=member).count() == 1


def test_the_coupon_centre_lists_what_the_member_may_claim_and_their_own_coupons(client, shop, other_shop):
    template = coupon_template(shop, name="店庆满减")
    hidden = coupon_template(shop, name="仅规则发放", settings={"in_centre": False})
    elsewhere = coupon_template(other_shop, name="别家店的券")
    member, _group = member_of(shop)
    client.force_login(member)

    page = client.get(reverse("campaigns:coupon_centre")).content.decode()
    assert "店庆满减" in page and "仅规则发放" not in page and "别家店的券" not in page

    response = client.post(reverse("campaigns:coupon_claim", args=[template.pk]), {"from": "centre"})
    assert response.url == reverse("campaigns:coupon_centre")
    page = client.get(reverse("campaigns:coupon_centre")).content.decode()
    assert 'data-testid="my-coupons"' in page and "已领取" in page
    assert Coupon.objects.get().channel == "centre"
    assert hidden.pk and elsewhere.pk


def test_a_member_sees_only_their_own_coupons(client, shop):
    template = coupon_template(shop, per_member_limit=3)
    mine, group = member_of(shop)
    theirs = member_of(shop, group)[0]
    coupons.claim_coupon(campaign=template, member=mine)
    other = coupons.grant_coupon(
        template=coupon_template(shop, name="秘密券", settings={"in_centre": False}), member=theirs, reason="r", key="k"
    )
    client.force_login(mine)
    page = client.get(reverse("campaigns:coupon_centre")).content.decode()
    assert "秘密券" not in page
    data = client.get(reverse("api-my-coupons")).json()
    assert [c["template"] for c in data["results"]] == [template.pk]
    assert other.pk not in [c["id"] for c in data["results"]]


def test_the_api_claims_and_refuses_with_a_reason(client, shop):
    template = coupon_template(shop)
    member, _group = member_of(shop)
    client.force_login(member)
    centre = client.get(reverse("api-coupon-centre")).json()
    assert [(t["id"], t["mine"], t["limit"]) for t in centre] == [(template.pk, 0, 1)]

    claimed = client.post(reverse("api-coupon-claim", args=[template.pk]))
    assert claimed.status_code == 201 and claimed.json()["face"] == "满 100 减 20"
    again = client.post(reverse("api-coupon-claim", args=[template.pk]))
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "limit"


def test_the_api_is_for_signed_in_members_and_coupon_templates_only(client, shop, campaign):
    template = coupon_template(shop)
    assert client.get(reverse("api-my-coupons")).status_code in (401, 403)
    assert client.post(reverse("api-coupon-claim", args=[template.pk])).status_code in (401, 403)
    member, _group = member_of(shop)
    client.force_login(member)
    assert client.post(reverse("api-coupon-claim", args=[campaign.pk])).status_code == 404  # a group buy
    draft = coupon_template(shop, run=False)
    assert client.post(reverse("api-coupon-claim", args=[draft.pk])).status_code == 404


def test_the_member_group_page_lists_a_running_coupon(client, shop):
    template = coupon_template(shop, name="群友券")
    member, group = member_of(shop)
    client.force_login(member)
    page = client.get(reverse("member:group", args=[group.pk])).content.decode()
    assert f'href="{template.get_absolute_url()}"' in page and "满 100 减 20" in page


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_coupon_centre_costs_the_same_for_one_coupon_or_many(client, shop):
    member, group = member_of(shop)
    client.force_login(member)
    coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    client.get(reverse("campaigns:coupon_centre"))  # a session's first page stamps it once
    one = _queries(client, reverse("campaigns:coupon_centre"))
    for _ in range(4):
        coupons.claim_coupon(campaign=coupon_template(shop), member=member)
        coupon_template(shop)
    assert _queries(client, reverse("campaigns:coupon_centre")) == one
    api = _queries(client, reverse("api-my-coupons"))
    coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    assert _queries(client, reverse("api-my-coupons")) == api


def test_the_dashboard_list_costs_the_same_with_more_coupon_templates(operator_client, shop):
    coupon_template(shop)
    operator_client.get(reverse("dashboard:campaigns"))
    one = _queries(operator_client, reverse("dashboard:campaigns"))
    for _ in range(4):
        coupon_template(shop)
    assert _queries(operator_client, reverse("dashboard:campaigns")) == one


def test_the_coupon_pages_speak_english_when_asked(client, shop, settings):
    template = coupon_template(shop, name="Spring sale", hook_title="Spring sale", cta_text="")
    member, group = member_of(shop)
    coupons.claim_coupon(campaign=coupon_template(shop, name="Welcome", hook_title="Welcome"), member=member)
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    centre = client.get(reverse("campaigns:coupon_centre")).content.decode()
    assert "Coupon centre" in centre and "Coupons to claim" in centre and "My coupons" in centre
    assert "20 off orders of 100" in centre and "Available" in centre
    for words in ("领券中心", "可领取的券", "我的优惠券", "满 100 减 20", "可使用", "有效期至"):
        assert words not in centre
    landing = client.get(template.get_absolute_url()).content.decode()
    assert "Claim now" in landing and "立即领取" not in landing and "每人限领" not in landing
