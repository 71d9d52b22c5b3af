"""The campaign engine: validation with clear messages, the state machine and its jobs, acts recorded once
with who brought whom and fraud flags, share links."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import registry, services
from campaigns.lifecycle import CampaignTransitionRefused
from campaigns.models import CampaignAct, CampaignState, CampaignTransition
from groups.models import Membership
from groups.services import add_member
from referrals.models import EventKind, ReferralEdge, ReferralEvent
from tests.builders.campaigns import GROUP_BUY_SETTINGS, make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


def _create(shop, sku, **overrides):
    now = timezone.now()
    fields = {
        "name": "拼团",
        "starts_at": now + timedelta(hours=1),
        "ends_at": now + timedelta(days=2),
        "sku": sku,
        "settings": GROUP_BUY_SETTINGS,
        **overrides,
    }
    return services.create_campaign(shop=shop, by=None, type="group_buy", **fields)


# --- Validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, field, message",
    [
        ({"team_size": 1}, "team_size", "至少 2 人"),
        ({"team_size": "abc"}, "team_size", "至少 2 人"),
        ({"group_price": "59.90"}, "group_price", "低于商品原价"),
        ({"group_price": "-1"}, "group_price", "大于 0"),
        ({"group_price": "1.234"}, "group_price", "最多两位小数"),
        ({"time_limit_minutes": 1}, "time_limit_minutes", "5 分钟到 7 天"),
        ({"leader_discount": "29.90"}, "leader_discount", "低于最低成团价"),
        ({"tiers": [{"size": 3, "price": "39"}]}, "tiers", "至少需要两档"),
        ({"tiers": [{"size": 3, "price": "39"}, {"size": 2, "price": "35"}]}, "tiers", "逐档增加"),
        ({"tiers": [{"size": 3, "price": "35"}, {"size": 5, "price": "39"}]}, "tiers", "价格必须低于上一档"),
    ],
)
def test_inconsistent_group_buy_settings_are_refused_with_a_message(shop, gb_sku, bad, field, message):
    errors = _errors(lambda: _create(shop, gb_sku, settings={**GROUP_BUY_SETTINGS, **bad}))
    assert message in " ".join(errors[field])


def test_end_before_start_is_refused(shop, gb_sku):
    now = timezone.now()
    errors = _errors(lambda: _create(shop, gb_sku, starts_at=now, ends_at=now - timedelta(hours=1)))
    assert errors["ends_at"] == ["结束时间必须晚于开始时间。"]


def test_a_group_buy_needs_a_sku_of_the_shop(shop, other_shop, gb_sku):
    assert "需要选择商品规格" in _errors(lambda: _create(shop, None))["sku"][0]
    foreign = SkuFactory(product__shop=other_shop)
    assert "本店的商品" in _errors(lambda: _create(shop, foreign))["product"][0]


def test_groups_of_another_shop_are_refused(shop, other_shop, gb_sku):
    errors = _errors(lambda: _create(shop, gb_sku, all_groups=False, groups=[GroupFactory(shop=other_shop)]))
    assert errors["groups"] == ["只能选择本店的群。"]


def test_every_problem_is_reported_at_once(shop, gb_sku):
    errors = _errors(lambda: _create(shop, gb_sku, name="", settings={"team_size": 1, "group_price": ""}))
    assert {"name", "team_size", "group_price"} <= set(errors)


def test_an_unknown_type_is_refused(shop):
    with pytest.raises(ValidationError):
        services.create_campaign(
            shop=shop,
            by=None,
            type="lottery",
            name="x",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=1),
        )


def test_every_type_in_the_registry_has_a_code_and_a_label():
    kinds = registry.all()
    assert "group_buy" in {kind.code for kind in kinds}
    assert all(kind.code and kind.label for kind in kinds)


# --- State machine and jobs ---------------------------------------------------------------------------


def test_a_scheduled_campaign_starts_and_ends_on_time_and_the_jobs_are_idempotent(shop, gb_sku):
    campaign = _create(shop, gb_sku)
    services.schedule_campaign(campaign=campaign, by=None)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED

    assert services.start_due(now=campaign.starts_at - timedelta(seconds=1)) == 0
    assert services.start_due(now=campaign.starts_at) == 1
    assert services.start_due(now=campaign.starts_at) == 0
    assert services.end_due(now=campaign.ends_at) == 1
    assert services.end_due(now=campaign.ends_at) == 0
    moves = list(CampaignTransition.objects.filter(campaign=campaign).values_list("from_state", "to_state"))
    assert moves == [("draft", "scheduled"), ("scheduled", "running"), ("running", "ended")]


def test_scheduling_a_campaign_whose_start_has_come_starts_it(shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    assert campaign.state == CampaignState.RUNNING


def test_an_ended_campaign_cannot_be_cancelled_or_edited(shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    services.end_due(now=campaign.ends_at)
    campaign.refresh_from_db()
    with pytest.raises(CampaignTransitionRefused):
        services.cancel_campaign(campaign=campaign, by=None)
    with pytest.raises(CampaignTransitionRefused):
        services.update_campaign(campaign=campaign, by=None, name="新名字")


def test_a_running_campaign_keeps_its_rules_but_its_texts_can_change(shop, gb_sku):
    campaign = make_campaign(shop, gb_sku)
    with pytest.raises(CampaignTransitionRefused, match="活动进行中"):
        services.update_campaign(campaign=campaign, by=None, settings={**GROUP_BUY_SETTINGS, "team_size": 5})
    services.update_campaign(campaign=campaign, by=None, hook_title="今晚 8 点截止", stock_cap=10)
    campaign.refresh_from_db()
    assert campaign.hook_title == "今晚 8 点截止" and campaign.settings["team_size"] == 3


def test_a_past_end_cannot_be_scheduled(shop, gb_sku):
    now = timezone.now()
    campaign = _create(shop, gb_sku, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert "结束时间已过" in _errors(lambda: services.schedule_campaign(campaign=campaign, by=None))["ends_at"][0]


def test_run_due_jobs_twice_changes_nothing_the_second_time(shop, gb_sku):
    campaign = _create(shop, gb_sku, starts_at=timezone.now() - timedelta(minutes=5))
    services.update_campaign(campaign=campaign, by=None, starts_at=timezone.now() + timedelta(seconds=1))
    services.schedule_campaign(campaign=campaign, by=None)
    later = timezone.now() + timedelta(minutes=1)
    first = services.run_due_jobs(now=later)
    second = services.run_due_jobs(now=later)
    assert first["started"] == 1 and second["started"] == 0


# --- Acts ----------------------------------------------------------------------------------------------


@pytest.fixture
def running(shop, gb_sku):
    return make_campaign(shop, gb_sku)


def _old(user):
    user.date_joined = timezone.now() - timedelta(days=30)
    user.save(update_fields=["date_joined"])
    return user


def test_an_act_counts_once_per_key(running, gb_group):
    inviter, actor = _old(make_buyer(gb_group)), _old(make_buyer(gb_group))
    first = services.record_act(campaign=running, actor=actor, inviter=inviter, kind="team_join", key="t1:a")
    again = services.record_act(campaign=running, actor=actor, inviter=inviter, kind="team_join", key="t1:a")
    assert first is not None and again is None
    assert CampaignAct.objects.count() == 1
    assert ReferralEvent.objects.filter(kind=EventKind.CAMPAIGN_ACT).count() == 1


def test_nobody_acts_through_their_own_link(running, gb_group):
    member = make_buyer(gb_group)
    with pytest.raises(ValidationError, match="不能为自己"):
        services.record_act(campaign=running, actor=member, inviter=member, kind="help", key="h:1")
    assert not CampaignAct.objects.exists() and not ReferralEvent.objects.filter(kind=EventKind.CAMPAIGN_ACT).exists()


def test_a_young_account_and_the_starters_device_are_flagged_not_blocked(running, gb_group):
    starter = _old(make_buyer(gb_group))
    services.record_act(
        campaign=running, actor=starter, inviter=None, kind="help_start", key="s", ip="10.0.0.1", device="dev-1"
    )
    friend = make_buyer(gb_group)  # signed up a moment ago
    act = services.record_act(
        campaign=running, actor=friend, inviter=starter, kind="help", key="h", ip="10.0.0.1", device="dev-1"
    )
    assert act.flagged
    assert set(act.flag_reasons) == {"young_account", "same_ip_as_starter", "same_device_as_starter"}

    clean = services.record_act(
        campaign=running,
        actor=_old(make_buyer(gb_group)),
        inviter=starter,
        kind="help",
        key="h2",
        ip="10.0.0.2",
        device="dev-2",
    )
    assert not clean.flagged and clean.flag_reasons == []


def test_a_brand_new_member_brought_by_a_share_link_gets_a_referral_edge(running, gb_group):
    inviter = _old(make_buyer(gb_group))
    newcomer = UserFactory()
    add_member(group=gb_group, user=newcomer, by=None)  # joined without an inviter, after the campaign started
    act = services.record_act(
        campaign=running, actor=newcomer, inviter=inviter, kind="team_join", key="j", group=gb_group
    )
    assert act.new_member
    edge = ReferralEdge.objects.get(shop=running.shop, invitee=newcomer)
    assert edge.inviter == inviter and edge.campaign_id == running.pk


def test_an_existing_customer_gets_no_new_edge(running, gb_group):
    inviter = _old(make_buyer(gb_group))
    regular = _old(UserFactory())
    add_member(group=gb_group, user=regular, by=None)
    Membership.objects.filter(user=regular).update(first_joined_at=running.starts_at - timedelta(days=10))
    act = services.record_act(campaign=running, actor=regular, inviter=inviter, kind="team_join", key="j2")
    assert not act.new_member and not ReferralEdge.objects.filter(invitee=regular).exists()


# --- Share links ---------------------------------------------------------------------------------------


def test_a_share_link_names_its_member_and_cannot_be_forged(running, gb_group):
    member = make_buyer(gb_group)
    url = services.share_link(running, member)
    assert url.startswith("http://testserver/m/c/")
    token = url.split("by=", 1)[1]
    assert services.inviter_from_token(running, token) == member
    assert services.inviter_from_token(running, token[:-2] + "xx") is None
    elsewhere = ShopFactory()
    other = make_campaign(elsewhere, SkuFactory(product__shop=elsewhere, price=Decimal("59.90")))
    assert services.inviter_from_token(other, token) is None  # another campaign's
    assert services.inviter_from_token(running, None) is None


def test_place_campaign_order_refuses_another_sku(running, gb_group, shop):
    from tests.builders.orders import SHIPPING

    member = make_buyer(gb_group)
    other = SkuFactory(product__shop=shop)
    with pytest.raises(ValidationError, match="指定的商品规格"):
        services.place_campaign_order(
            member=member,
            campaign=running,
            group=gb_group,
            sku=other,
            quantity=1,
            price=Decimal("10"),
            delivery=SHIPPING,
            idempotency_key="x",
        )


def test_users_are_not_needed_to_be_operators_for_acts(running):
    assert services.record_act(campaign=running, actor=UserFactory(), inviter=None, kind="view", key="v") is not None
