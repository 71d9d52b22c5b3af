"""A campaign type is one package: a throwaway type (tests/campaigns/throwaway_type/) installed through
the registry works end to end with no line of the engine changed: the dashboard creates and schedules it,
its landing page renders its own template with what its kind adds, the campaign API carries its own
fields, and its own pages and API resolve. Uninstalled, nothing of it is left in the URLs."""

import importlib
import sys
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, clear_url_caches, reverse
from django.utils import timezone

from campaigns import registry
from campaigns.models import Campaign, CampaignState
from campaigns.serializers import CampaignSerializer
from tests.factories import GroupFactory, UserFactory

from .throwaway_type.kind import CODE, StampKind

pytestmark = pytest.mark.django_db

# The URL modules that read the registry when imported, innermost first (each includes the one before).
URLCONFS = ("campaigns.member_urls", "campaigns.api_urls", "shequn.api_urls", "shequn.urls")


def _reload_urlconfs() -> None:
    """Import the URLconfs again, as a process started with the type installed (or not) would have them."""
    for name in URLCONFS:
        importlib.import_module(name)  # first imported as usual, if no request has needed them yet
    login = admin.site.login  # shequn.urls wraps the admin's login when imported: keep the one wrapping
    for name in URLCONFS:
        importlib.reload(sys.modules[name])
    admin.site.login = login
    clear_url_caches()


@pytest.fixture
def stamp_type():
    kind = registry.register(StampKind())
    try:
        _reload_urlconfs()
        yield kind
    finally:
        registry.unregister(CODE)
        _reload_urlconfs()


def _create_in_dashboard(operator_client) -> Campaign:
    now = timezone.localtime()
    response = operator_client.post(
        reverse("dashboard:campaign_create"),
        {
            "type": CODE,
            "name": "连续打卡七天",
            "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
            "all_groups": "on",
            "hook_title": "打卡得好礼",
            "s-stamps_needed": "7",
        },
    )
    campaign = Campaign.objects.get(type=CODE)
    assert response.status_code == 302 and response.url == reverse("dashboard:campaign_detail", args=[campaign.pk])
    return campaign


def test_a_type_package_works_end_to_end_with_no_engine_edit(stamp_type, operator_client, client, shop):
    assert stamp_type.module("urls") == "tests.campaigns.throwaway_type.urls"
    listed = operator_client.get(reverse("dashboard:campaigns"))
    assert stamp_type in listed.context["kinds"]
    assert operator_client.get(reverse("dashboard:campaign_create") + f"?type={CODE}").status_code == 200

    campaign = _create_in_dashboard(operator_client)
    assert campaign.settings == {"stamps_needed": 7} and campaign.state == CampaignState.DRAFT
    operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "schedule"]))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING

    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200
    assert detail.context["figures"] == [("打卡次数", 0)] and detail.context["stamp_cards"] == []
    assert ("需要打卡次数", "7") in detail.context["settings_shown"]
    assert operator_client.get(reverse("dashboard:campaign_poster", args=[campaign.pk])).status_code == 200

    member = UserFactory()
    GroupFactory(shop=shop)
    client.force_login(member)
    landing = client.get(campaign.get_absolute_url())
    assert landing.status_code == 200
    assert landing.context["kind"] is stamp_type and landing.context["stamps_needed"] == 7
    assert landing.content.decode().count('<p class="stamp-cta">打卡 7 次得好礼</p>') == 2  # its own call to act

    api = client.get(reverse("api-my-campaign", args=[campaign.pk]))
    assert api.status_code == 200
    assert api.json()["type"] == CODE
    assert api.json()["stamp"] == {"stamps_needed": 7} and api.json()["group_buy"] is None
    assert "stamp" in CampaignSerializer().fields

    page = client.get(reverse("campaigns:stamp_card", args=[campaign.pk]))
    assert page.status_code == 200 and page.content.decode() == "连续打卡七天: 7"
    own_api = client.get(reverse("api-my-stamps", args=[campaign.pk]))
    assert own_api.json() == {"campaign": campaign.pk, "stamps_needed": 7}


def test_on_another_types_campaign_the_types_field_is_null(stamp_type, campaign, people, client):
    client.force_login(people[0])
    data = client.get(reverse("api-my-campaign", args=[campaign.pk])).json()
    assert data["stamp"] is None and data["group_buy"]["team_size"] == 3


def test_uninstalled_the_type_leaves_nothing_in_the_urls():
    assert CODE not in [kind.code for kind in registry.all()]
    with pytest.raises(NoReverseMatch):
        reverse("campaigns:stamp_card", args=[1])
    with pytest.raises(NoReverseMatch):
        reverse("api-my-stamps", args=[1])
    assert "stamp" not in CampaignSerializer().fields
