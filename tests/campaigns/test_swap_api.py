"""The 换物 member API: list and browse items, offer, agree, confirm from both sides, read the swap's moves; a
refusal is a 409 with its reason; a non-member and a third member get 404s; the list costs constant queries."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from campaigns.models import Swap, SwapListing, SwapReport
from campaigns.types.swap.models import SwapState
from tests.campaigns.swap_support import a_group, listing, members_of, offer, png, swap_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(shop):
    return a_group(shop)


@pytest.fixture
def campaign(shop):
    return swap_campaign(shop)


@pytest.fixture
def people(group):
    return members_of(group, 3)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_offer_agree_and_confirm_through_the_api(campaign, group, people):
    alice, bob, _carol = people
    made = _api(alice).post(
        f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/",
        {
            "group": group.pk,
            "title": "九成新推车",
            "price": "80",
            "handover": "shipping",
            "photos": [SimpleUploadedFile("p.png", png(), content_type="image/png")],
        },
        format="multipart",
    )
    assert made.status_code == 201, made.json()
    item_id = made.json()["id"]
    assert Decimal(str(made.json()["price"])) == Decimal("80") and len(made.json()["photos"]) == 1

    seen = _api(bob).get(f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/").json()
    assert [row["id"] for row in seen] == [item_id]

    offered = _api(bob).post(f"/api/v1/me/swap/listings/{item_id}/offers/", {"price": "70", "message": "能便宜点吗"})
    assert offered.status_code == 201 and offered.json()["state"] == "offered"
    swap_id = offered.json()["id"]

    twice = _api(bob).post(f"/api/v1/me/swap/listings/{item_id}/offers/", {"price": "75"})
    assert twice.status_code == 409 and twice.json()["errors"][0]["code"] == "already_offered"

    assert _api(alice).post(f"/api/v1/me/swap/swaps/{swap_id}/agree/").json()["state"] == "agreed"
    assert _api(bob).post(f"/api/v1/me/swap/swaps/{swap_id}/confirm/").json()["state"] == "handed_one"
    again = _api(bob).post(f"/api/v1/me/swap/swaps/{swap_id}/confirm/")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "already_confirmed"
    done = _api(alice).post(f"/api/v1/me/swap/swaps/{swap_id}/confirm/").json()
    assert done["state"] == "done" and done["side"] == "owner"
    assert [m["to_state"] for m in done["moves"]] == ["offered", "agreed", "handed_one", "done"]
    assert [row["id"] for row in _api(bob).get("/api/v1/me/swap/swaps/").json()] == [swap_id]


def test_api_denials_and_refusals(shop, campaign, group, people):
    alice, bob, carol = people
    item = listing(campaign, alice, group)
    swap = offer(item, bob)
    outsider = _api(members_of(a_group(shop), 1)[0])
    assert outsider.get(f"/api/v1/me/swap/listings/{item.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/me/swap/listings/{item.pk}/offers/", {"price": "1"}).status_code == 404
    assert outsider.get(f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/").json() == []
    assert _api(carol).get(f"/api/v1/me/swap/swaps/{swap.pk}/").status_code == 404
    assert _api(carol).post(f"/api/v1/me/swap/swaps/{swap.pk}/agree/").status_code == 404
    assert _api(bob).post(f"/api/v1/me/swap/swaps/{swap.pk}/agree/").status_code == 409
    assert _api(alice).post(f"/api/v1/me/swap/swaps/{swap.pk}/fly/").status_code == 404
    assert APIClient().get(f"/api/v1/me/swap/listings/{item.pk}/").status_code in (401, 403)
    bad = _api(alice).post(
        f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/", {"group": group.pk, "title": "x", "price": "-3"}
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "price"
    wrong_group = _api(alice).post(
        f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/", {"group": a_group(shop).pk, "title": "x", "wanted": "y"}
    )
    assert wrong_group.status_code == 409 and wrong_group.json()["errors"][0]["code"] == "group"
    not_mine = _api(bob).post(f"/api/v1/me/swap/listings/{item.pk}/offers/", {"offered_listing": item.pk})
    assert not_mine.status_code == 409 and not_mine.json()["errors"][0]["code"] == "offered_item"
    swap.refresh_from_db()
    assert swap.state == SwapState.OFFERED and SwapListing.objects.count() == 1


def test_a_member_reports_through_the_api(campaign, group, people):
    alice, bob, _carol = people
    item = listing(campaign, alice, group)
    assert _api(bob).post(f"/api/v1/me/swap/listings/{item.pk}/report/", {"reason": "广告"}).status_code == 204
    again = _api(bob).post(f"/api/v1/me/swap/listings/{item.pk}/report/", {"reason": "广告"})
    assert again.status_code == 400
    member = _api(bob).post(f"/api/v1/me/swap/listings/{item.pk}/report/", {"reason": "爽约", "about": "member"})
    assert member.status_code == 204
    assert SwapReport.objects.filter(listing__isnull=True, member=alice).count() == 1


def test_the_listing_api_costs_a_constant_number_of_queries(campaign, group, people, django_assert_max_num_queries):
    alice, bob, _carol = people
    url = f"/api/v1/me/campaigns/{campaign.pk}/swap/listings/"
    client = _api(bob)
    listing(campaign, alice, group, photos=[SimpleUploadedFile("a.png", png())])
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(5):
        listing(campaign, alice, group, title=f"物品{n}", photos=[SimpleUploadedFile("a.png", png())])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(url).json()) == 6
    assert Swap.objects.count() == 0
