"""The analytics pages and API: scoped to the operator's shop, read-only, CSV per table, constant queries."""

import csv
import io
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics import facts
from campaigns.models import Campaign
from shops.models import OperatorRole
from tests.analytics import shopdata
from tests.factories import GroupFactory, OperatorFactory

pytestmark = pytest.mark.django_db

PAGES = ["analytics_funnel", "analytics_repeat", "analytics_cohorts", "analytics_campaigns", "analytics_groups"]
APIS = [
    "api-analytics-funnel",
    "api-analytics-repeat",
    "api-analytics-cohorts",
    "api-analytics-campaigns",
    "api-analytics-groups",
]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def data():
    data = shopdata.make_shop(random.Random(42), members=10, orders=30, days=20)
    if not data.campaigns:
        data.campaigns.append(
            Campaign.objects.create(
                shop=data.shop,
                type="group_buy",
                name="拼团",
                starts_at=data.start,
                ends_at=data.start + shopdata.timedelta(days=30),
            )
        )
    facts.rebuild_shop(shop_id=data.shop.pk)
    return data


@pytest.fixture
def viewer_of(data):
    return _client(OperatorFactory(shop=data.shop, role=OperatorRole.VIEWER).user)


@pytest.fixture
def stranger():
    """An owner of another shop."""
    other = GroupFactory().shop
    return _client(OperatorFactory(shop=other, role=OperatorRole.OWNER).user)


@pytest.mark.parametrize("name", PAGES)
def test_a_viewer_reads_every_page_as_tables(viewer_of, name):
    response = viewer_of.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<table class="data"' in body and "vendor/echarts/echarts.min" in body
    assert viewer_of.post(reverse(f"dashboard:{name}")).status_code == 405


def test_the_filters_show_the_dates_the_figures_are_for(viewer_of):
    body = viewer_of.get(reverse("dashboard:analytics_funnel")).content.decode()
    today = shopdata.timezone.localdate()
    assert f'name="end" value="{today}"' in body
    assert f'name="start" value="{today - shopdata.timedelta(days=29)}"' in body


def test_the_funnel_page_shows_the_facts_of_the_range(viewer_of, data):
    start = data.start.date()
    url = reverse("dashboard:analytics_funnel") + f"?start={start}&end={start + shopdata.timedelta(days=25)}"
    response = viewer_of.get(url)
    rows = {row["key"]: row for row in response.context["report"].table("funnel").rows}
    expected = sum(c["joins"] for c in shopdata.direct_daily(data.shop).values())
    assert rows["joins"]["count"] == expected > 0


def test_every_table_downloads_as_csv(viewer_of, data):
    response = viewer_of.get(reverse("dashboard:analytics_repeat") + "?export=by_group")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["群", "下单人数", "复购人数（≥2 单）", "复购率"]
    shown = viewer_of.get(reverse("dashboard:analytics_repeat")).context["report"].table("by_group").rows
    assert [line[0] for line in lines[1:]] == [row["group"] for row in shown] and shown
    assert viewer_of.get(reverse("dashboard:analytics_repeat") + "?export=nope").status_code == 404


def test_another_shops_operator_sees_nothing_of_this_shop(stranger, data):
    campaign = data.campaigns[0]
    assert stranger.get(reverse("dashboard:analytics_campaign", args=[campaign.pk])).status_code == 404
    group = data.groups[0]
    assert stranger.get(reverse("dashboard:analytics_funnel") + f"?group={group.pk}").status_code == 404
    assert stranger.get(reverse("dashboard:analytics_cohorts") + f"?group={group.pk}").status_code == 404
    assert stranger.get(reverse("dashboard:analytics_funnel") + f"?campaign={campaign.pk}").status_code == 404
    assert stranger.get(reverse("api-analytics-campaign", args=[campaign.pk])).status_code == 404
    assert stranger.get(reverse("api-analytics-funnel") + f"?group={group.pk}").status_code == 404
    # Its own pages show its own (empty) shop, never this one's figures.
    ranking = stranger.get(reverse("dashboard:analytics_groups")).context["report"].table("ranking")
    assert {row["group_id"] for row in ranking.rows}.isdisjoint({g.pk for g in data.groups})


def test_the_campaign_page_shows_its_daily_pull(viewer_of, data):
    campaign = data.campaigns[0]
    response = viewer_of.get(reverse("dashboard:analytics_campaign", args=[campaign.pk]))
    assert response.status_code == 200
    assert response.context["report"].table("summary").rows[0]["campaign_id"] == campaign.pk


def test_signed_out_visitors_and_people_without_a_seat_are_turned_away(client, member, data):
    assert client.get(reverse("dashboard:analytics_funnel")).status_code == 302
    assert client.get(reverse("api-analytics-funnel")).status_code in (401, 403)
    client.force_login(member)
    assert client.get(reverse("dashboard:analytics_funnel")).status_code == 403
    assert client.get(reverse("api-analytics-funnel")).status_code == 403


def test_bad_filters_are_explained_not_crashed(viewer_of):
    page = viewer_of.get(reverse("dashboard:analytics_funnel") + "?start=2026-05-01&end=2026-04-01")
    assert page.status_code == 200 and "开始日期不能晚于结束日期。" in page.content.decode()
    api = viewer_of.get(reverse("api-analytics-cohorts") + "?weeks=99&basis=x&start=nope")
    assert api.status_code == 400
    fields = {e["field"] for e in api.json()["errors"]}
    assert fields == {"weeks", "basis", "start"}
    too_long = viewer_of.get(reverse("api-analytics-repeat") + "?start=2024-01-01&end=2026-01-01")
    assert too_long.status_code == 400 and "366" in too_long.json()["errors"][0]["message"]


@pytest.mark.parametrize("name", APIS)
def test_the_api_returns_the_pages_tables(viewer_of, name):
    page = viewer_of.get(reverse("dashboard:" + name.replace("api-analytics-", "analytics_")))
    api = viewer_of.get(reverse(name))
    assert api.status_code == 200
    tables = {t["key"]: t for t in api.json()["tables"]}
    for table in page.context["report"].tables:
        assert len(tables[table.key]["rows"]) == len(table.rows)
        assert [c["key"] for c in tables[table.key]["columns"]] == [c.key for c in table.columns]
    assert viewer_of.post(reverse(name)).status_code == 403  # a viewer's seat never writes


def test_every_analytics_endpoint_is_in_the_schema(client):
    paths = client.get(reverse("api-schema") + "?format=json").json()["paths"]
    for name in APIS:
        assert reverse(name) in paths
    assert "/api/v1/shop/analytics/campaigns/{id}/" in paths


def _queries_for_page(name: str, *, members: int, orders: int) -> int:
    data = shopdata.make_shop(random.Random(members), members=members, orders=orders, days=20)
    campaign = Campaign.objects.create(
        shop=data.shop, type="group_buy", name="拼团", starts_at=data.start, ends_at=data.start + timedelta(days=30)
    )
    facts.rebuild_shop(shop_id=data.shop.pk)
    client = _client(OperatorFactory(shop=data.shop, role=OperatorRole.VIEWER).user)
    url = reverse(f"dashboard:{name}", args=[campaign.pk] if name == "analytics_campaign" else [])
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", [*PAGES, "analytics_campaign"])
def test_pages_run_the_same_number_of_queries_for_a_small_and_a_big_shop(name):
    small = _queries_for_page(name, members=2, orders=2)
    big = _queries_for_page(name, members=30, orders=90)
    assert big == small <= 12
