"""比 contest pages: the landing page's rules and prizes, the member's board with my rank and the gap (live) and
the final ranking with my prizes (settled), the member API, the dashboard's effect, ranking and prizes with
the operators' settle and review (audited, scoped to their shop), each at a constant number of queries."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import ContestPrize, PrizeState
from campaigns.types.contest import kind as contests
from referrals.fraud_models import FlagKind, FraudFlag
from referrals.points import balance_of
from shops.models import AuditEntry
from tests.campaigns.contest_support import contest, end, invites
from tests.factories import OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(campaign):
    return reverse("campaigns:contest_page", args=[campaign.pk])


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _forget_live_board(campaign):
    cache.delete(contests._cache_key(campaign))


def test_the_landing_page_shows_the_rules_and_the_prizes(client, shop):
    campaign = contest(shop, settings={"rules": "每邀请一位好友入群并首单，计 1 位合格邀请。"})
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "每邀请一位好友入群并首单" in page
    assert "第 1 名：500 积分" in page and "第 2–3 名：¥20.00 现金" in page
    assert _page(campaign) in page


def test_the_member_sees_the_live_board_their_rank_and_the_gap_to_the_next_prize(client, shop):
    campaign = contest(shop)
    leader, me = UserFactory(display_name="阿强"), UserFactory(display_name="小雨")
    invites(campaign, leader, 4)
    invites(campaign, me, 1)
    client.force_login(me)
    page = client.get(_page(campaign)).content.decode()
    assert "实时排行榜" in page and "阿强" in page
    assert "我的排名：第 2 名（1），共 2 名" in page
    # 2nd already has the ¥20 prize; the next is the 1st: 4 + 1 − 1.
    assert "再多 4 就能进入第 1 名，赢得500 积分" in page


def test_anyone_may_read_the_board_but_only_a_member_has_a_rank(client, shop):
    campaign = contest(shop)
    invites(campaign, UserFactory(display_name="阿强"), 2)
    page = client.get(_page(campaign)).content.decode()
    assert "阿强" in page and 'data-testid="contest-mine"' not in page and "登录查看我的排名" in page


def test_the_final_page_shows_the_frozen_ranking_and_my_prize(client, shop):
    campaign = contest(shop)
    me = UserFactory(display_name="小雨")
    invites(campaign, me, 3)
    end(campaign)
    contests.settle(campaign)
    client.force_login(me)
    page = client.get(_page(campaign)).content.decode()
    assert "最终排名" in page and "比赛已结束" in page
    assert "第 1 名奖品：500 积分（已发放）" in page
    assert "再多" not in page


def test_the_api_gives_the_board_my_rank_gap_and_prizes(client, shop):
    campaign = contest(shop)
    leader, me = UserFactory(), UserFactory()
    invites(campaign, leader, 5)
    invites(campaign, me, 2)
    client.force_login(me)
    data = client.get(reverse("api-my-contest", args=[campaign.pk])).json()
    assert (data["final"], data["size"], data["my_rank"], data["my_value"]) == (False, 2, 2, "2")
    assert data["next_prize"] == {"rank": 1, "tier": "500 积分", "gap": "4"}
    assert [row["me"] for row in data["board"]] == [False, True]
    end(campaign)
    contests.settle(campaign)
    data = client.get(reverse("api-my-contest", args=[campaign.pk])).json()
    assert data["final"] is True and data["next_prize"] is None
    assert [(p["rank"], p["kind"], p["state"]) for p in data["prizes"]] == [(2, "cash", "granted")]


def test_another_types_campaign_is_not_a_contest(client, shop):
    from tests.campaigns.checkin_support import checkin_campaign

    other = checkin_campaign(shop)
    client.force_login(UserFactory())
    assert client.get(_page(other)).status_code == 404
    assert client.get(reverse("api-my-contest", args=[other.pk])).status_code == 404


def test_the_dashboard_shows_the_effect_the_ranking_and_the_prizes(operator_client, shop):
    campaign = contest(shop)
    invites(campaign, UserFactory(display_name="阿强"), 3)
    page = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()
    assert "比赛效果" in page and "之前同样时长" in page and "阿强" in page
    assert "立即结算" not in page  # still running


def test_an_operator_settles_an_ended_contest_now_once_and_it_is_audited(operator_client, operator, shop):
    campaign = contest(shop)
    member = UserFactory()
    invites(campaign, member, 3)
    end(campaign)
    url = reverse("dashboard:contest_settle", args=[campaign.pk])
    assert "立即结算" in operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()

    operator_client.post(url)
    operator_client.post(url)

    assert balance_of(shop_id=shop.pk, member_id=member.pk) == 500
    entry = AuditEntry.objects.get(action="campaign.contest.settle")
    assert entry.actor == operator
    assert (
        "最终排名（已结算）"
        in operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()
    )


def test_an_operator_releases_a_held_prize_from_the_dashboard(operator_client, operator, shop):
    campaign = contest(shop)
    member = UserFactory()
    invites(campaign, member, 3)
    FraudFlag.objects.create(shop=shop, kind=FlagKind.BURST, subject="user:x", member=member, deadline=campaign.ends_at)
    end(campaign)
    contests.settle(campaign)
    prize = ContestPrize.objects.get(campaign=campaign)
    page = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()
    assert "风控审核中" in page and "审核通过并发放" in page

    operator_client.post(
        reverse("dashboard:contest_prize_review", args=[prize.pk]), {"action": "release", "reason": "已核实"}
    )

    prize.refresh_from_db()
    assert (prize.state, prize.reviewed_by, prize.note) == (PrizeState.GRANTED, operator, "")
    assert AuditEntry.objects.get(action="campaign.contest.prize.release").after["reason"] == "已核实"


def test_another_shops_operator_cannot_review_or_settle(client, shop):
    campaign = contest(shop)
    invites(campaign, UserFactory(), 3)
    end(campaign)
    contests.settle(campaign)
    prize = ContestPrize.objects.get(campaign=campaign)
    client.force_login(OperatorFactory(shop=ShopFactory()).user)
    assert client.post(reverse("dashboard:contest_settle", args=[campaign.pk])).status_code == 404
    response = client.post(reverse("dashboard:contest_prize_review", args=[prize.pk]), {"action": "withhold"})
    assert response.status_code == 404
    assert ContestPrize.objects.get(pk=prize.pk).state == PrizeState.GRANTED


def test_the_dashboard_settings_form_refuses_bad_tiers_in_chinese(operator_client, shop):
    response = operator_client.post(
        reverse("dashboard:campaign_create"),
        {
            "type": "contest",
            "name": "邀请赛",
            "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-01-08T10:00",
            "all_groups": "on",
            "s-metric": "qualified",
            "s-scope": "shop",
            "s-tiers": "第一名 积分 500",
            "s-prize_to": "owner",
        },
    )
    assert "名次请填写数字" in response.content.decode()


# --- Constant queries -------------------------------------------------------------------------------------


def test_the_member_page_and_the_api_cost_a_constant_number_of_queries(client, shop):
    campaign = contest(shop)
    me = UserFactory()
    invites(campaign, me, 1)
    client.force_login(me)
    client.get(_page(campaign))
    _forget_live_board(campaign)
    one = _queries(client, _page(campaign))
    for _ in range(12):
        invites(campaign, UserFactory(), 2)
    _forget_live_board(campaign)
    assert _queries(client, _page(campaign)) == one
    api = reverse("api-my-contest", args=[campaign.pk])
    assert _queries(client, api) <= one


def test_the_dashboard_page_of_a_settled_contest_costs_a_constant_number_of_queries(operator_client, shop):
    few, many = contest(shop, settings={"tiers": "1-50 现金 1"}), contest(shop, settings={"tiers": "1-50 现金 1"})
    for campaign, n in ((few, 2), (many, 12)):
        for _ in range(n):
            invites(campaign, UserFactory(), 1)
        end(campaign)
        contests.settle(campaign)
    # Both contests count the shop's invites: the second ranks all fourteen.
    assert ContestPrize.objects.filter(campaign=many, amount=Decimal("1.00")).count() == 14
    operator_client.get(reverse("dashboard:campaign_detail", args=[few.pk]))
    one = _queries(operator_client, reverse("dashboard:campaign_detail", args=[few.pk]))
    assert _queries(operator_client, reverse("dashboard:campaign_detail", args=[many.pk])) == one


def test_an_operator_may_create_a_contest_through_the_engine(shop, owner):
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type="contest",
        name="邀请赛",
        starts_at=contests.timezone.now(),
        ends_at=contests.timezone.now() + contests.timedelta(days=7),
        settings={"metric": "orders", "tiers": "1 积分 100"},
    )
    assert contests.Rules.of(campaign).metric == "orders"
