"""The member API of 拼团: read a campaign, open a team, join one through a share token, idempotency,
errors in the house shape, and 404s for what is not the member's to see."""

import pytest
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import SeatState, Team, TeamSeat
from orders.models import Order
from tests.builders.campaigns import make_campaign
from tests.builders.orders import SHIPPING_FORM, pay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _open(client, campaign, group, key="open-1"):
    return client.post(
        f"/api/v1/me/campaigns/{campaign.pk}/teams/",
        {**SHIPPING_FORM, "group": group.pk},
        format="json",
        headers={"Idempotency-Key": key},
    )


def test_a_member_reads_the_campaign_and_its_rules(campaign, people):
    response = api_for(people[0]).get(f"/api/v1/me/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert response.json()["group_buy"]["group_price"] == "29.90"
    assert response.json()["group_buy"]["simulate_fill"] is False


def test_opening_a_team_is_idempotent(campaign, people, gb_group):
    client = api_for(people[0])
    first = _open(client, campaign, gb_group)
    again = _open(client, campaign, gb_group)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Order.objects.count() == 1
    assert first.json()["order_total"] == "29.90" and first.json()["team"]["state"] == "pending"


def test_a_friend_joins_with_the_share_token_and_the_team_succeeds(shop, gb_sku, people, gb_group, transport):
    campaign = make_campaign(shop, gb_sku, settings={"team_size": 2, "group_price": "29.90", "time_limit_minutes": 60})
    opened = _open(api_for(people[0]), campaign, gb_group).json()
    pay(Order.objects.get(pk=opened["order"]), transport)
    seat = TeamSeat.objects.get(pk=opened["id"])
    token = services.share_link(campaign, people[0], seat.team).split("by=")[1]

    joined = api_for(people[1]).post(
        f"/api/v1/me/campaigns/{campaign.pk}/teams/{seat.team_id}/join/",
        {**SHIPPING_FORM, "group": gb_group.pk, "by": token},
        format="json",
        headers={"Idempotency-Key": "join-1"},
    )
    assert joined.status_code == 201
    assert TeamSeat.objects.get(pk=joined.json()["id"]).inviter == people[0]
    pay(Order.objects.get(pk=joined.json()["order"]), transport)
    team = api_for(people[1]).get(f"/api/v1/me/campaigns/{campaign.pk}/teams/{seat.team_id}/").json()
    assert team["state"] == "succeeded" and team["seats_left"] == 0 and len(team["members"]) == 2
    mine = api_for(people[1]).get("/api/v1/me/teams/").json()
    assert mine["count"] == 1 and mine["results"][0]["state"] == SeatState.WON


def test_refusals_come_in_the_house_error_shape(campaign, people, gb_group):
    client = api_for(people[0])
    _open(client, campaign, gb_group)
    second = _open(client, campaign, gb_group, key="open-2")
    assert second.status_code == 400
    assert second.json()["errors"][0]["message"] == "你在本活动已有一个进行中的团，请等它结束后再参加。"
    missing_key = client.post(
        f"/api/v1/me/campaigns/{campaign.pk}/teams/", {**SHIPPING_FORM, "group": gb_group.pk}, format="json"
    )
    assert missing_key.status_code == 400 and missing_key.json()["errors"][0]["field"] == "Idempotency-Key"
    bad = client.post(
        f"/api/v1/me/campaigns/{campaign.pk}/teams/", {"group": "x"}, format="json", headers={"Idempotency-Key": "k"}
    )
    assert bad.status_code == 400 and {e["field"] for e in bad.json()["errors"]} >= {"group", "delivery"}


def test_a_group_the_member_is_not_in_is_refused(campaign, gb_group):
    outsider = UserFactory()
    response = _open(api_for(outsider), campaign, gb_group)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "group"
    assert not Team.objects.exists()


def test_drafts_and_other_campaigns_teams_are_404(shop, gb_sku, campaign, people, gb_group):
    draft = make_campaign(shop, gb_sku, run=False)
    client = api_for(people[0])
    assert client.get(f"/api/v1/me/campaigns/{draft.pk}/").status_code == 404
    seat_id = _open(client, campaign, gb_group).json()["id"]
    team_id = TeamSeat.objects.get(pk=seat_id).team_id
    other = make_campaign(shop, gb_sku)
    assert client.get(f"/api/v1/me/campaigns/{other.pk}/teams/{team_id}/").status_code == 404


def test_the_api_needs_a_sign_in(campaign):
    assert APIClient().get(f"/api/v1/me/campaigns/{campaign.pk}/").status_code == 403
