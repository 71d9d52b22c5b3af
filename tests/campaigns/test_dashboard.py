"""Operator dashboard for campaigns: create/edit with validation messages, schedule, cancel, live figures;
scoped to the operator's shop (another shop's campaign is a 404), viewers read only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignState, TeamState
from tests.builders.campaigns import join, make_campaign, open_team
from tests.builders.orders import pay
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db


def _form(sku, **overrides):
    now = timezone.localtime()
    data = {
        "type": "group_buy",
        "name": "周末三人团",
        "starts_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "all_groups": "on",
        "sku": sku.pk,
        "hook_title": "三人成团",
        "hook_text": "",
        "proof_text": "",
        "cta_text": "",
        "s-team_size": "3",
        "s-group_price": "29.90",
        "s-time_limit_minutes": "1440",
    }
    data.update(overrides)
    return data


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def test_an_operator_creates_a_group_buy_draft(operator_client, shop, gb_sku):
    response = operator_client.post(reverse("dashboard:campaign_create"), _form(gb_sku))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("dashboard:campaign_detail", args=[campaign.pk])
    assert campaign.shop == shop and campaign.state == CampaignState.DRAFT
    assert campaign.settings["team_size"] == 3 and campaign.settings["simulate_fill"] is False


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"s-team_size": "1"}, "成团人数至少 2 人"),
        ({"s-group_price": "99"}, "拼团价必须低于商品原价"),
        ({"ends_at": "2020-01-01T00:00"}, "结束时间必须晚于开始时间"),
        ({"starts_at": "not a date"}, "请输入正确的时间"),
        ({"s-tiers": "3 39\n5 45"}, "价格必须低于上一档"),
        ({"s-tiers": "3 39\nabc"}, "第 2 档人数必须是"),
        ({"s-tiers": "3 39\n5 abc"}, "第 2 档价格：请输入金额"),
        ({"name": "长" * 61}, "最多 60 个字，现在是 61 个，请删减。"),
        ({"name": ""}, "请填写活动名称"),
    ],
)
def test_inconsistent_input_is_shown_next_to_the_field(operator_client, gb_sku, overrides, message):
    response = operator_client.post(reverse("dashboard:campaign_create"), _form(gb_sku, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Campaign.objects.exists()


def test_live_validation_answers_without_saving(operator_client, gb_sku):
    response = operator_client.post(reverse("dashboard:campaign_validate"), _form(gb_sku, **{"s-team_size": "1"}))
    assert response.json()["errors"]["team_size"] == ["成团人数至少 2 人，最多 100 人。"]
    ok = operator_client.post(reverse("dashboard:campaign_validate"), _form(gb_sku))
    assert ok.json() == {"errors": {}}
    assert not Campaign.objects.exists()


def test_schedule_then_cancel(operator_client, shop, gb_sku):
    operator_client.post(reverse("dashboard:campaign_create"), _form(gb_sku))
    campaign = Campaign.objects.get()
    operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "schedule"]))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED
    operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "cancel"]), {"reason": "改期"})
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.CANCELLED
    response = operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "schedule"]), follow=True)
    assert "不能变为" in response.content.decode()


def test_scheduling_a_campaign_whose_start_has_come_says_it_is_live(operator_client, gb_sku):
    started = timezone.localtime() - timedelta(minutes=5)
    operator_client.post(
        reverse("dashboard:campaign_create"), _form(gb_sku, starts_at=started.strftime("%Y-%m-%dT%H:%M"))
    )
    campaign = Campaign.objects.get()

    response = operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "schedule"]), follow=True)

    html = response.content.decode()
    assert "活动已上线，现在就在进行中。" in html and "活动已排期" not in html


def test_rules_are_shown_in_words_and_empty_limits_as_unlimited(operator_client, shop):
    from tests.campaigns.social_support import bargain_campaign

    campaign = bargain_campaign(shop)

    html = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()

    assert "底价（元）" in html and "¥10.00" in html and "允许未砍到底价时按当前价购买" in html
    for key in ("original_price", "floor_price", "may_buy_before_floor", "min_cuts"):
        assert f"<dt>{key}</dt>" not in html
    assert "已用 0 · 不限" in html and "已用 ¥0.00 · 不限" in html


def test_units_sold_counts_only_paid_orders(campaign, people, transport):
    from campaigns.types.group_buy.kind import group_buy_figures

    team = open_team(campaign, people[0], people[0].memberships.get().group).team
    assert group_buy_figures(campaign)["units_sold"] == 0  # ordered, not paid
    pay(team.seats.get().order, transport)
    assert group_buy_figures(campaign)["units_sold"] == 1


def test_editing_a_draft_changes_its_rules(operator_client, gb_sku):
    operator_client.post(reverse("dashboard:campaign_create"), _form(gb_sku))
    campaign = Campaign.objects.get()
    page = operator_client.get(reverse("dashboard:campaign_edit", args=[campaign.pk]))
    assert page.status_code == 200 and 'value="29.90"' in page.content.decode()
    operator_client.post(reverse("dashboard:campaign_edit", args=[campaign.pk]), _form(gb_sku, **{"s-team_size": "5"}))
    campaign.refresh_from_db()
    assert campaign.settings["team_size"] == 5


def test_the_detail_page_shows_live_figures_and_says_when_teams_were_simulated(
    operator_client, shop, gb_sku, people, gb_group, transport
):
    campaign = make_campaign(
        shop, gb_sku, settings={"team_size": 2, "group_price": "29.90", "time_limit_minutes": 60, "simulate_fill": True}
    )
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    pay(join(seat.team, people[1], gb_group).order, transport)
    lonely = open_team(campaign, people[2], gb_group)
    pay(lonely.order, transport)
    from campaigns.types.group_buy.kind import GroupBuy

    GroupBuy().expire_due(now=timezone.now() + timedelta(minutes=61))

    response = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    html = response.content.decode()
    figures = dict(response.context["figures"])
    assert figures["已成团"] == 2 and figures["其中模拟成团"] == 1 and figures["付款订单"] == 3
    assert "模拟成团" in html and "其中 1 个团为「模拟成团」" in html
    assert operator_client.get(reverse("dashboard:campaign_figures", args=[campaign.pk])).status_code == 200
    assert campaign.teams.filter(state=TeamState.SUCCEEDED).count() == 2


def test_another_shops_campaign_is_a_404_everywhere(operator_client, other_shop):
    foreign = make_campaign(other_shop, SkuFactory(product__shop=other_shop))
    for name in ("campaign_detail", "campaign_edit", "campaign_figures"):
        assert operator_client.get(reverse(f"dashboard:{name}", args=[foreign.pk])).status_code == 404
    for action in ("schedule", "cancel"):
        assert operator_client.post(reverse("dashboard:campaign_action", args=[foreign.pk, action])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.state == CampaignState.RUNNING


def test_the_list_shows_only_my_shops_campaigns(operator_client, shop, other_shop, gb_sku):
    mine = make_campaign(shop, gb_sku, name="本店活动")
    make_campaign(other_shop, SkuFactory(product__shop=other_shop), name="别家活动")
    html = operator_client.get(reverse("dashboard:campaigns")).content.decode()
    assert mine.name in html and "别家活动" not in html


def test_a_viewer_reads_but_cannot_write(viewer_client, shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    page = viewer_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert page.status_code == 200 and "取消活动" not in page.content.decode()
    assert viewer_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "cancel"])).status_code == 403
    assert viewer_client.get(reverse("dashboard:campaign_create")).status_code == 403
    assert viewer_client.post(reverse("dashboard:campaign_validate"), {}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING


def test_an_unknown_action_or_type_is_a_404(operator_client, shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    assert operator_client.post(reverse("dashboard:campaign_action", args=[campaign.pk, "explode"])).status_code == 404
    assert operator_client.get(reverse("dashboard:campaign_create") + "?type=lottery").status_code == 404


def test_the_list_runs_in_a_constant_number_of_queries(operator_client, shop, gb_sku):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_campaign(shop, gb_sku)
    with CaptureQueriesContext(connection) as one:
        operator_client.get(reverse("dashboard:campaigns"))
    for _ in range(4):
        make_campaign(shop, gb_sku)
    with CaptureQueriesContext(connection) as many:
        operator_client.get(reverse("dashboard:campaigns"))
    assert len(many.captured_queries) == len(one.captured_queries)


def test_someone_without_a_seat_is_refused(client, shop, gb_sku):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("dashboard:campaigns")).status_code == 403


def test_every_registered_type_has_a_create_page(operator_client):
    from campaigns import registry

    for kind in registry.all():
        response = operator_client.get(reverse("dashboard:campaign_create") + f"?type={kind.code}")
        assert response.status_code == 200, kind.code
        assert response.context["kind"] is kind


def test_a_running_campaign_edits_its_texts_but_never_its_rules(operator_client, shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    data = _form(gb_sku, hook_title="最后一天", **{"s-team_size": "9"})
    data["starts_at"] = timezone.localtime(campaign.starts_at).strftime("%Y-%m-%dT%H:%M")
    response = operator_client.post(reverse("dashboard:campaign_edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.hook_title == "最后一天" and campaign.settings["team_size"] == 3
    page = operator_client.get(reverse("dashboard:campaign_edit", args=[campaign.pk])).content.decode()
    assert "活动进行中" in page and "<fieldset disabled>" in page


def _help_form(sku, **overrides):
    data = {key: value for key, value in _form(sku).items() if not key.startswith("s-")}
    data.update(
        {
            "type": "help",
            "name": "五人助力",
            "s-helps_needed": "5",
            "s-time_limit_minutes": "120",
            "s-reward_kind": "price",
            "s-reward_price": "19.90",
            "s-reward_label": "",
            "s-helps_per_helper": "2",
            "s-new_users_only": "on",
        }
    )
    data.update(overrides)
    return data


def _bargain_form(sku, **overrides):
    data = {key: value for key, value in _form(sku).items() if not key.startswith("s-")}
    data.update(
        {
            "type": "bargain",
            "name": "砍到九块九",
            "s-original_price": "",
            "s-floor_price": "9.90",
            "s-min_cuts": "5",
            "s-max_cuts": "8",
            "s-time_limit_minutes": "600",
            "s-first_cut_share": "0.40",
            "s-pay_within_minutes": "60",
        }
    )
    data.update(overrides)
    return data


def test_the_help_and_bargain_pages_show_their_settings_as_fields_not_json(operator_client):
    for kind, field in (("help", "s-helps_needed"), ("bargain", "s-floor_price")):
        page = operator_client.get(reverse("dashboard:campaign_create") + f"?type={kind}").content.decode()
        assert f'name="{field}"' in page and 'name="s-settings"' not in page


def test_an_operator_creates_a_help_campaign_through_the_form(operator_client, shop, gb_sku):
    response = operator_client.post(reverse("dashboard:campaign_create"), _help_form(gb_sku))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and campaign.shop == shop and campaign.type == "help"
    assert campaign.settings == {
        "helps_needed": 5,
        "time_limit_minutes": 120,
        "reward_kind": "price",
        "reward_price": "19.90",
        "reward_label": "",
        "new_users_only": True,
        "helps_per_helper": 2,
    }


def test_a_help_campaign_left_at_the_forms_defaults_gets_the_types_defaults(operator_client, gb_sku):
    data = _help_form(gb_sku, **{"s-helps_needed": "", "s-time_limit_minutes": "", "s-helps_per_helper": ""})
    del data["s-new_users_only"]
    operator_client.post(reverse("dashboard:campaign_create"), data)
    settings = Campaign.objects.get().settings
    assert (settings["helps_needed"], settings["time_limit_minutes"], settings["helps_per_helper"]) == (3, 1440, 1)
    assert settings["new_users_only"] is False


def test_an_operator_creates_a_bargain_campaign_through_the_form(operator_client, shop, gb_sku):
    response = operator_client.post(reverse("dashboard:campaign_create"), _bargain_form(gb_sku))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and campaign.shop == shop and campaign.type == "bargain"
    assert campaign.settings == {
        "original_price": "59.90",
        "floor_price": "9.90",
        "min_cuts": 5,
        "max_cuts": 8,
        "time_limit_minutes": 600,
        "pay_within_minutes": 60,
        "may_buy_before_floor": False,
        "first_cut_share": "0.40",
    }


@pytest.mark.parametrize(
    "form, overrides, message",
    [
        (_help_form, {"s-helps_needed": "0"}, "需要助力人数须在 1–100 之间。"),
        (_help_form, {"s-reward_kind": "cash"}, "请选择奖励方式：助力价购买或赠品。"),
        (_help_form, {"s-reward_price": "60"}, "助力价必须低于商品原价 ¥59.90。"),
        (_bargain_form, {"s-floor_price": "60"}, "底价必须低于原价 ¥59.90。"),
        (_bargain_form, {"s-original_price": "30", "s-floor_price": "35"}, "底价必须低于原价 ¥30"),
        (_bargain_form, {"s-max_cuts": "3"}, "最多人数不能少于最少人数。"),
        (_bargain_form, {"s-first_cut_share": "0.95"}, "首刀比例须在 0–0.90 之间"),
    ],
)
def test_inconsistent_help_or_bargain_settings_are_shown_and_nothing_is_created(
    operator_client, gb_sku, form, overrides, message
):
    response = operator_client.post(reverse("dashboard:campaign_create"), form(gb_sku, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_campaign_orders_source_and_payment_are_named_not_coded(operator_client, campaign, people, transport):
    team = open_team(campaign, people[0], people[0].memberships.get().group).team
    order = team.seats.get().order
    pay(order, transport)

    html = operator_client.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()

    assert f"拼团活动「{campaign.name}」" in html and f"campaign:{campaign.pk}" not in html
    assert "模拟支付 · " in html and "simulated ·" not in html


def test_the_leaderboard_campaign_is_picked_from_a_list(operator_client, campaign):
    html = operator_client.get(reverse("dashboard:leaderboards")).content.decode()
    assert f'<option value="{campaign.pk}">{campaign.name}</option>' in html
    assert "活动编号" not in html
