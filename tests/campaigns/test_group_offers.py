"""Issue 18: the member's group page lists the campaigns running for that group (title, the offer in
words, a link to its page), so a member reaches a 拼团 from their group in one tap; nothing that is not
running, not open to the group or of another shop; a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import CampaignType
from tests.builders.campaigns import make_campaign
from tests.campaigns.checkin_support import checkin_campaign
from tests.campaigns.social_support import HELP_SETTINGS
from tests.factories import GroupFactory, SkuFactory

pytestmark = pytest.mark.django_db


def _group_page(client, member, group):
    client.force_login(member)
    return client.get(reverse("member:group", args=[group.pk]))


def test_a_running_group_buy_is_listed_with_its_offer_and_link(client, campaign, people, gb_group):
    page = _group_page(client, people[0], gb_group).content.decode()
    assert 'data-testid="group-offers"' in page
    assert f'href="{campaign.get_absolute_url()}"' in page
    assert "三人成团，立省一半" in page and "拼团价 ¥29.90 · 3 人团" in page


def test_only_running_campaigns_open_to_this_group_are_listed(client, shop, other_shop, gb_sku, people, gb_group):
    draft = make_campaign(shop, gb_sku, run=False, name="草稿活动")
    elsewhere = make_campaign(shop, gb_sku, all_groups=False, groups=[GroupFactory(shop=shop)], name="别的群")
    other = make_campaign(other_shop, SkuFactory(product__shop=other_shop), name="别家店")
    page = _group_page(client, people[0], gb_group).content.decode()
    for campaign in (draft, elsewhere, other):
        assert campaign.get_absolute_url() not in page
    assert 'data-testid="group-offers"' not in page


def test_a_campaign_naming_the_group_is_listed(client, shop, gb_sku, people, gb_group):
    mine = make_campaign(shop, gb_sku, all_groups=False, groups=[gb_group], name="本群专享")
    assert mine.get_absolute_url() in _group_page(client, people[0], gb_group).content.decode()


def test_an_open_ended_check_in_is_listed_as_having_no_end_and_in_the_api(client, shop, people, gb_group):
    habit = checkin_campaign(shop, ends_at=None, hook_title="长期早起打卡")
    page = _group_page(client, people[0], gb_group).content.decode()
    listed = page[page.index(f'data-testid="offer-{habit.pk}"') :]
    assert "长期早起打卡" in listed and "长期</span>" in listed[: listed.index("</a>")]
    found = client.get(reverse("api-my-group-campaigns", args=[gb_group.pk])).json()
    rows = found["results"] if isinstance(found, dict) else found
    assert [row["ends_at"] for row in rows if row["campaign_id"] == habit.pk] == [None]


def test_the_group_page_asks_a_constant_number_of_queries(client, shop, gb_sku, people, gb_group):
    """The campaigns are one query, the member's part one per type among them (never one per campaign)."""
    make_campaign(shop, gb_sku)
    make_campaign(shop, gb_sku, type=CampaignType.HELP, settings=HELP_SETTINGS, name="助力")
    client.force_login(people[0])
    url = reverse("member:group", args=[gb_group.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as two:
        assert client.get(url).status_code == 200
    make_campaign(shop, gb_sku, name="拼团二")
    make_campaign(shop, gb_sku, type=CampaignType.HELP, settings=HELP_SETTINGS, name="助力二")
    with CaptureQueriesContext(connection) as four:
        page = client.get(url).content.decode()
    assert page.count('class="group-item"') == 4
    assert len(four.captured_queries) == len(two.captured_queries), [q["sql"][:200] for q in four.captured_queries]
