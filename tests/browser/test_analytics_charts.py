"""The analytics pages in a real browser, on a desktop and a phone screen: every chart is drawn (a canvas in
each chart box), nothing is logged to the console as an error, and the tables show what the API returns."""

import random
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from analytics import facts
from campaigns.models import Campaign, CampaignAct
from shops.models import OperatorRole
from tests.analytics import shopdata
from tests.factories import OperatorFactory

pytestmark = pytest.mark.browser

PAGES = [
    ("analytics_funnel", "api-analytics-funnel"),
    ("analytics_repeat", "api-analytics-repeat"),
    ("analytics_cohorts", "api-analytics-cohorts"),
    ("analytics_campaigns", "api-analytics-campaigns"),
    ("analytics_groups", "api-analytics-groups"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_every_analytics_page_draws_its_charts_from_the_tables_the_api_returns(
    request, screen, live_site, shot, sign_in_operator
):
    page = request.getfixturevalue(screen)
    data = shopdata.make_shop(random.Random(2026), members=12, orders=40, days=30)
    for n in range(len(data.campaigns), 2):  # two campaigns to draw side by side
        data.campaigns.append(
            Campaign.objects.create(
                shop=data.shop,
                type="group_buy",
                name=f"拼团{n}",
                starts_at=data.start,
                ends_at=data.start + timedelta(days=30),
            )
        )
    for campaign in data.campaigns:  # each campaign pulled someone in, so its daily chart has a day to draw
        CampaignAct.objects.create(
            campaign=campaign, actor=data.members[0], kind="join", key=f"t{campaign.pk}", occurred_at=data.start
        )
    facts.rebuild_shop(shop_id=data.shop.pk)
    viewer = OperatorFactory(shop=data.shop, role=OperatorRole.VIEWER).user

    errors = []

    def console(message):
        where = message.location.get("url", "")
        # The site has no favicon; the desktop browser asks for one on its own (not the page's error).
        if message.type == "error" and not where.endswith("/favicon.ico"):
            errors.append(f"{message.text} @ {where}")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in_operator(page, viewer.email)

    pages = [*PAGES, ("analytics_campaign", "api-analytics-campaign")]
    for name, api in pages:
        args = [data.campaigns[0].pk] if name == "analytics_campaign" else []
        page.goto(f"{live_site}{reverse(f'dashboard:{name}', args=args)}")
        boxes = page.locator(".chart[data-chart]")
        assert boxes.count() > 0, name
        for i in range(boxes.count()):
            expect(boxes.nth(i).locator("canvas").first).to_be_attached()
        shot(page, f"{screen}-{name}")

        answer = page.request.get(f"{live_site}{reverse(api, args=args)}")
        assert answer.ok, name
        for table in answer.json()["tables"]:
            shown = page.locator(f'table[data-table="{table["key"]}"] tbody tr')
            if not table["rows"]:
                continue
            assert shown.count() == len(table["rows"]), (name, table["key"])
            first = table["rows"][0]
            cells = shown.first.locator("td")
            for i, column in enumerate(table["columns"]):
                if column["kind"] in ("int", "fen") and first[column["key"]] is not None:
                    assert cells.nth(i).get_attribute("data-value") == str(first[column["key"]]), (name, column)
    assert errors == []
