"""Issue 15, campaigns inside the group: the group page and the group shop list the campaigns running for
the group with the member's own part in each (my team and its seats left, my bargain's price, my help task's
progress, my coupons, time left) in a number of queries that does not grow with the campaigns; product pages
show a running campaign's price with a link into it; 活动 lists the member's own teams, bargains, help tasks
and coupons (never anyone else's); the API answers the same."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.types.bargain import kind as bargaining
from campaigns.types.coupon.kind import claim_coupon
from campaigns.types.help import kind as helping
from groups.models import Membership, MembershipStatus
from tests.builders.campaigns import coupon_template, make_campaign, open_team
from tests.builders.orders import make_buyer, pay
from tests.campaigns.social_support import bargain_campaign, friends, help_campaign
from tests.factories import GroupFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(client, member, url):
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def four_kinds(shop, campaign):
    """One running campaign of each type with a member's part: 拼团 (the `campaign` fixture), 砍价, 助力, 券."""
    return {
        "group_buy": campaign,
        "bargain": bargain_campaign(shop),
        "help": help_campaign(shop),
        "coupon": coupon_template(shop),
    }


def _take_part(kinds, member, group, transport, helpers):
    """The member's own part in each: a paid team seat, a bargain cut once, a help task helped once, a coupon."""
    pay(open_team(kinds["group_buy"], member, group).order, transport)
    task = bargaining.start_bargain(campaign=kinds["bargain"], member=member, group=group)
    bargaining.cut(task=task, cutter=helpers[0])
    help_task = helping.start_task(campaign=kinds["help"], member=member, group=group)
    helping.give_help(task=help_task, helper=helpers[1])
    claim_coupon(campaign=kinds["coupon"], member=member)
    task.refresh_from_db()
    return task


def test_the_group_page_shows_my_part_in_each_running_campaign(client, four_kinds, people, gb_group, transport):
    me, other = people[0], people[1]
    task = _take_part(four_kinds, me, gb_group, transport, friends(2))

    page = _page(client, me, reverse("member:group", args=[gb_group.pk]))

    assert page.count('data-testid="offer-mine"') == 4
    assert "我的团 · 还差 2 人成团" in page
    assert f"我的砍价 · 现价 ¥{task.current_price} · 还差 {task.cuts_left} 刀" in page
    assert "我的助力 · 1/3 人" in page
    assert "已领 1 张可用" in page
    assert "活动还剩" in page and "剩 " in page
    # Another member of the group sees the campaigns, and no part of mine.
    theirs = _page(client, other, reverse("member:group", args=[gb_group.pk]))
    assert theirs.count('class="group-item"') == 4 and 'data-testid="offer-mine"' not in theirs


def test_the_group_pages_queries_do_not_grow_with_the_campaigns(client, shop, four_kinds, people, gb_group, transport):
    me = people[0]
    _take_part(four_kinds, me, gb_group, transport, friends(2))
    client.force_login(me)
    urls = [reverse("member:group", args=[gb_group.pk]), reverse("orders:group_shop", args=[gb_group.pk])]
    before = []
    for url in urls:
        client.get(url)  # warm the per-session caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        before.append(len(captured.captured_queries))

    # One more of each type (the page lists ten at most), with the member's part in each.
    more = {
        "group_buy": make_campaign(shop, SkuFactory(product__shop=shop)),
        "bargain": bargain_campaign(shop),
        "help": help_campaign(shop),
        "coupon": coupon_template(shop),
    }
    _take_part(more, me, gb_group, transport, friends(2))

    for url, count in zip(urls, before, strict=True):
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        assert page.count('data-testid="offer-mine"') == 8
        assert len(captured.captured_queries) == count, [q["sql"][:160] for q in captured.captured_queries]


def test_the_group_shop_lists_the_campaigns_and_a_cards_campaign_price(client, campaign, people, gb_group, gb_sku):
    page = _page(client, people[0], reverse("orders:group_shop", args=[gb_group.pk]))
    assert 'data-testid="group-offers"' in page and campaign.get_absolute_url() in page
    assert 'data-testid="card-offer"' in page and "拼团 ¥29.90" in page


def test_the_product_page_shows_a_running_campaigns_price_with_a_link(client, campaign, people, gb_group, gb_sku):
    url = reverse("orders:product", args=[gb_group.pk, gb_sku.product_id])
    page = _page(client, people[0], url)
    assert 'data-testid="product-offer"' in page
    assert "拼团价 ¥29.90" in page and f'href="{campaign.get_absolute_url()}"' in page


def test_a_campaign_not_open_to_the_group_shows_no_price_on_its_product(client, shop, gb_sku, people, gb_group):
    make_campaign(shop, gb_sku, all_groups=False, groups=[GroupFactory(shop=shop)])
    page = _page(client, people[0], reverse("orders:product", args=[gb_group.pk, gb_sku.product_id]))
    assert 'data-testid="product-offer"' not in page


# --- 活动: my own participations -------------------------------------------------------------------------


def test_my_participations_page_lists_my_teams_bargains_tasks_and_coupons(
    client, four_kinds, people, gb_group, transport
):
    me, other = people[0], people[1]
    _take_part(four_kinds, me, gb_group, transport, friends(2))

    page = _page(client, me, reverse("campaigns:my_teams"))
    for section in ("group_buy", "bargain", "help", "coupon"):
        assert f'data-testid="mine-{section}"' in page
    assert "我的拼团" in page and "我的砍价" in page and "我的助力" in page and "我的优惠券" in page
    assert "满 100 减 20" in page

    # Another member: none of mine (only the running campaigns, and the empty state of their own).
    theirs = _page(client, other, reverse("campaigns:my_teams"))
    assert 'data-testid="mine-' not in theirs and "我的团" not in theirs


def test_my_participations_page_needs_a_sign_in(client):
    response = client.get(reverse("campaigns:my_teams"))
    assert response.status_code == 302 and "login" in response.url


def test_the_member_navigation_links_my_participations(client, people):
    page = _page(client, people[0], reverse("member:my_groups"))
    assert f'href="{reverse("campaigns:my_teams")}"' in page


# --- The API --------------------------------------------------------------------------------------------


def test_the_api_lists_a_groups_campaigns_with_my_part(client, four_kinds, people, gb_group, transport):
    me = people[0]
    _take_part(four_kinds, me, gb_group, transport, friends(2))
    client.force_login(me)
    response = client.get(reverse("api-my-group-campaigns", args=[gb_group.pk]))
    assert response.status_code == 200
    by_type = {row["type"]: row for row in response.json()}
    assert set(by_type) == {"group_buy", "bargain", "help", "coupon"}
    assert by_type["group_buy"]["mine"]["summary"] == "我的团 · 还差 2 人成团"
    assert by_type["group_buy"]["price"] == "29.90" and by_type["coupon"]["price"] is None
    assert by_type["help"]["mine"]["summary"] == "我的助力 · 1/3 人"


def test_the_group_campaigns_api_is_for_active_members_of_the_group(client, shop, campaign, people, gb_group):
    url = reverse("api-my-group-campaigns", args=[gb_group.pk])
    assert client.get(url).status_code == 403  # signed out
    stranger = make_buyer(GroupFactory(shop=shop))
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    pending = Membership.objects.create(group=gb_group, user=UserFactory(), status=MembershipStatus.PENDING).user
    client.force_login(pending)
    assert client.get(url).status_code == 404


def test_the_participations_api_lists_only_mine(client, four_kinds, people, gb_group, transport):
    me, other = people[0], people[1]
    _take_part(four_kinds, me, gb_group, transport, friends(2))
    client.force_login(me)
    rows = client.get(reverse("api-my-participations")).json()["results"]
    assert sorted(row["type"] for row in rows) == ["bargain", "coupon", "group_buy", "help"]
    assert all(row["live"] for row in rows)
    only = client.get(reverse("api-my-participations"), {"type": "bargain"}).json()["results"]
    assert [row["type"] for row in only] == ["bargain"]
    assert client.get(reverse("api-my-participations"), {"type": "nope"}).status_code == 400

    client.force_login(other)
    assert client.get(reverse("api-my-participations")).json()["results"] == []
    client.logout()
    assert client.get(reverse("api-my-participations")).status_code == 403


def test_a_check_in_campaign_shows_whether_i_checked_in_today(client, shop, people, gb_group):
    from campaigns.types.checkin import kind as checkin
    from tests.campaigns.checkin_support import checkin_campaign

    campaign = checkin_campaign(shop, name="21 天护肤打卡")
    me, other = people[0], people[1]
    checkin.check_in(campaign=campaign, member=me, group=gb_group)

    page = _page(client, me, reverse("member:group", args=[gb_group.pk]))
    assert "我的打卡 · 今日已打卡 · 连续 1 天 · 累计 1 天" in page
    assert 'data-testid="mine-checkin"' in _page(client, me, reverse("campaigns:my_teams"))
    theirs = _page(client, other, reverse("member:group", args=[gb_group.pk]))
    assert campaign.get_absolute_url() in theirs and "我的打卡" not in theirs
