"""帮 助力: K friends' helps in time complete a task and grant its reward exactly once; nobody helps
themself or twice; only new users when the campaign says so; unfinished tasks expire."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import services
from campaigns.models import CampaignAct, CampaignType, Help, HelpTask, HelpTaskState
from campaigns.types.help import kind as helping
from campaigns.types.help.kind import HelpRefused
from orders.models import OrderState
from referrals.models import EventKind, ReferralEvent
from tests.builders.orders import SHIPPING, make_buyer, order_for, pay
from tests.campaigns.social_support import HELP_SETTINGS, friends, help_campaign, starter_in
from tests.factories import SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(shop):
    starter, group = starter_in(shop)
    return help_campaign(shop), starter, group


def _refused(reason):
    return pytest.raises(HelpRefused, match=str(HelpRefused.MESSAGES[reason])[:6])


# --- Settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"helps_needed": 0}, "helps_needed", "需要助力人数须在 1–100 之间。"),
        ({"helps_needed": "三"}, "helps_needed", "需要助力人数须在 1–100 之间。"),
        ({"reward_price": "59.90"}, "reward_price", "助力价必须低于商品原价 ¥59.90。"),
        ({"reward_price": ""}, "reward_price", "请填写金额。"),
        ({"reward_kind": "cash"}, "reward_kind", "请选择奖励方式：助力价购买或赠品。"),
        ({"time_limit_minutes": 2}, "time_limit_minutes", "助力时限须在 5 分钟到 30 天之间。"),
        ({"time_limit_minutes": 5 * 24 * 60}, "time_limit_minutes", "助力时限不能长于活动时长。"),
        ({"helps_per_helper": 0}, "helps_per_helper", "每人可助力次数须在 1–50 之间。"),
    ],
)
def test_inconsistent_settings_are_refused_with_a_message(shop, given, field, message):
    with pytest.raises(ValidationError) as refused:
        help_campaign(shop, settings=given, run=False)
    assert refused.value.message_dict[field] == [message]


def test_a_price_reward_needs_the_campaigns_sku(shop):
    with pytest.raises(ValidationError) as refused:
        services.create_campaign(
            shop=shop,
            by=None,
            type=CampaignType.HELP,
            name="助力",
            settings=HELP_SETTINGS,
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=1),
        )
    assert refused.value.message_dict["sku"] == ["「助力价购买」需要选择活动商品规格。"]


def test_settings_are_cleaned_with_defaults(shop):
    campaign = help_campaign(shop, settings={"helps_needed": "5", "new_users_only": "on"}, run=False)
    assert campaign.settings == {
        "helps_needed": 5,
        "time_limit_minutes": 120,
        "reward_kind": "price",
        "reward_price": "0.01",
        "reward_label": "",
        "new_users_only": True,
        "helps_per_helper": 1,
    }


# --- Starting --------------------------------------------------------------------------------------------


def test_a_member_starts_one_task_and_starting_again_returns_it(running):
    campaign, starter, group = running
    task = helping.start_task(campaign=campaign, member=starter)
    assert (task.state, task.helps_needed, task.help_count, task.group) == (HelpTaskState.OPEN, 3, 0, group)
    assert task.expires_at - task.started_at == timedelta(minutes=120)
    assert helping.start_task(campaign=campaign, member=starter) == task
    assert HelpTask.objects.count() == 1


def test_the_task_ends_with_the_campaign_when_that_is_sooner(shop):
    starter, _ = starter_in(shop)
    campaign = help_campaign(shop, ends_at=timezone.now() + timedelta(minutes=30), settings={"time_limit_minutes": 5})
    campaign.settings["time_limit_minutes"] = 600  # as if longer than what is left
    task = helping.start_task(campaign=campaign, member=starter)
    assert task.expires_at == campaign.ends_at


def test_only_members_of_the_campaigns_groups_start_a_task(running):
    campaign, _, _ = running
    with _refused("not_member"):
        helping.start_task(campaign=campaign, member=UserFactory())


def test_no_task_starts_in_a_campaign_that_is_not_running(shop):
    starter, _ = starter_in(shop)
    campaign = help_campaign(shop, run=False)
    with _refused("not_running"):
        helping.start_task(campaign=campaign, member=starter)


def test_the_per_member_limit_caps_the_tasks_a_member_starts(shop):
    starter, _ = starter_in(shop)
    campaign = help_campaign(shop, per_member_limit=1)
    task = helping.start_task(campaign=campaign, member=starter)
    helping.expire_task(task.pk, now=task.expires_at)
    with _refused("task_limit"):
        helping.start_task(campaign=campaign, member=starter)


# --- Helping ---------------------------------------------------------------------------------------------


def test_the_kth_help_completes_the_task_and_grants_the_reward_once(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    a, b, c, d = friends(4)

    assert helping.give_help(task=task, helper=a).number == 1
    assert helping.give_help(task=task, helper=b).number == 2
    task.refresh_from_db()
    assert (task.state, task.help_count, task.helps_left, task.reward_granted_at) == (HelpTaskState.OPEN, 2, 1, None)

    third = helping.give_help(task=task, helper=c)
    task.refresh_from_db()
    assert third.number == 3
    assert task.state == HelpTaskState.COMPLETED and task.help_count == 3
    assert task.completed_at == task.reward_granted_at is not None
    assert task.reward == {"kind": "price", "price": "0.01", "label": campaign.product.name}

    with _refused("completed"):
        helping.give_help(task=task, helper=d)
    assert [h.helper for h in task.helps.all()] == [a, b, c]


def test_nobody_helps_themself(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    with _refused("self"):
        helping.give_help(task=task, helper=starter)
    assert task.helps.count() == 0


def test_the_database_refuses_a_self_help_too(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    with pytest.raises(IntegrityError, match="help_not_self"), transaction.atomic():
        Help.objects.create(task=task, campaign=campaign, helper=starter, starter=starter, number=1, helper_slot=1)


def test_a_friend_helps_a_task_once(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    friend = friends(1)[0]
    helping.give_help(task=task, helper=friend)
    with _refused("duplicate"):
        helping.give_help(task=task, helper=friend)
    task.refresh_from_db()
    assert task.help_count == 1 == task.helps.count()


def test_a_friend_helps_once_per_campaign_by_default(shop):
    campaign = help_campaign(shop)
    (one, _), (two, _) = starter_in(shop), starter_in(shop)
    first, second = (helping.start_task(campaign=campaign, member=m) for m in (one, two))
    friend = friends(1)[0]
    helping.give_help(task=first, helper=friend)
    with pytest.raises(HelpRefused, match="本活动每人最多助力 1 次"):
        helping.give_help(task=second, helper=friend)


def test_helps_per_helper_allows_that_many_tasks(shop):
    campaign = help_campaign(shop, settings={"helps_per_helper": 2})
    tasks = [helping.start_task(campaign=campaign, member=starter_in(shop)[0]) for _ in range(3)]
    friend = friends(1)[0]
    assert [helping.give_help(task=t, helper=friend).helper_slot for t in tasks[:2]] == [1, 2]
    with pytest.raises(HelpRefused, match="本活动每人最多助力 2 次"):
        helping.give_help(task=tasks[2], helper=friend)


def test_only_new_users_help_when_the_campaign_says_so(shop, transport):
    campaign = help_campaign(shop, settings={"new_users_only": True})
    starter, group = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter)
    customer = make_buyer(group)
    pay(order_for(customer, group, SkuFactory(product__shop=shop)), transport)
    with _refused("not_new"):
        helping.give_help(task=task, helper=customer)
    assert helping.give_help(task=task, helper=friends(1)[0]).number == 1


def test_an_expired_task_takes_no_help(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    with _refused("expired"):
        helping.give_help(task=task, helper=friends(1)[0], now=task.expires_at)
    task.refresh_from_db()
    assert task.help_count == 0


def test_each_help_is_a_referral_act_credited_to_the_starter(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    friend = friends(1)[0]
    given = helping.give_help(task=task, helper=friend)
    act = CampaignAct.objects.get(campaign=campaign, kind="help")
    assert (act.actor, act.inviter, act.key, given.act) == (friend, starter, f"help:{task.pk}:{friend.pk}", act)
    event = ReferralEvent.objects.get(kind=EventKind.CAMPAIGN_ACT, campaign_id=campaign.pk)
    assert (event.inviter, event.invitee) == (starter, friend)


def test_a_help_from_a_brand_new_account_notes_the_signal_but_is_not_flagged_for_it_alone(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    newcomer = UserFactory()  # signed up a moment ago: what a help campaign is for
    given = helping.give_help(task=task, helper=newcomer)
    assert not given.flagged and given.act.flag_reasons == ["young_account"]
    assert task.helps.count() == 1


# --- Expiry ----------------------------------------------------------------------------------------------


def test_unfinished_tasks_expire_once_whatever_the_job_does(shop):
    campaign = help_campaign(shop)
    open_one = helping.start_task(campaign=campaign, member=starter_in(shop)[0])
    done = helping.start_task(campaign=campaign, member=starter_in(shop)[0])
    for friend in friends(3):
        helping.give_help(task=done, helper=friend)
    later = open_one.expires_at + timedelta(seconds=1)

    assert helping.expire_due_tasks(now=open_one.expires_at - timedelta(seconds=1)) == 0
    assert services.run_due_jobs(now=later)[CampaignType.HELP] == 1
    assert helping.HelpKind().expire_due(now=later) == 0  # twice: nothing more
    open_one.refresh_from_db()
    done.refresh_from_db()
    assert (open_one.state, open_one.expired_at) == (HelpTaskState.EXPIRED, later)
    assert done.state == HelpTaskState.COMPLETED


def test_cancelling_the_campaign_closes_its_open_tasks(running, owner):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    services.cancel_campaign(campaign=campaign, by=owner)
    task.refresh_from_db()
    assert task.state == HelpTaskState.EXPIRED


# --- The reward ------------------------------------------------------------------------------------------


def _completed(campaign, starter):
    task = helping.start_task(campaign=campaign, member=starter)
    for friend in friends(task.helps_needed):
        helping.give_help(task=task, helper=friend)
    task.refresh_from_db()
    return task


def test_the_starter_buys_the_reward_at_the_reward_price_once(running, transport):
    campaign, starter, _ = running
    task = _completed(campaign, starter)
    key = uuid.uuid4().hex
    order = helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key=key)
    assert order.total == Decimal("0.01") and order.source == f"campaign:{campaign.pk}"
    assert helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key=key) == order
    with _refused("claimed"):
        helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key=uuid.uuid4().hex)
    pay(order, transport)
    assert order.state == OrderState.PAID


def test_a_cancelled_reward_order_frees_the_reward_again(running):
    from orders.services import cancel_order

    campaign, starter, _ = running
    task = _completed(campaign, starter)
    first = helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key="k1")
    cancel_order(order=first, by=starter)
    second = helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key="k2")
    assert second != first
    task.refresh_from_db()
    assert task.order == second


def test_no_reward_before_the_task_completes_nor_for_someone_else(running):
    campaign, starter, _ = running
    task = helping.start_task(campaign=campaign, member=starter)
    with _refused("not_completed"):
        helping.claim_reward(task=task, member=starter, delivery=SHIPPING, idempotency_key="k")
    with _refused("not_starter"):
        helping.claim_reward(task=task, member=UserFactory(), delivery=SHIPPING, idempotency_key="k")


def test_a_free_item_reward_is_granted_at_completion_and_valued(shop):
    campaign = help_campaign(
        shop, settings={"reward_kind": "free_item", "reward_price": None, "reward_label": "签名绘本一册"}
    )
    starter, _ = starter_in(shop)
    task = _completed(campaign, starter)
    assert task.reward == {"kind": "free_item", "price": None, "label": "签名绘本一册"}
    assert task.reward_granted_at is not None
    assert task.reward_value == Decimal("59.90")  # the SKU's price when granted, kept for campaign ROI
    assert task.order_id is None  # claimed later as a zero-price order (tests/campaigns/test_give_free.py)


def test_a_free_item_is_valued_at_the_price_it_had_when_granted_not_later(shop):
    campaign = help_campaign(shop, settings={"reward_kind": "free_item", "reward_price": None, "reward_label": "绘本"})
    starter, _ = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter)
    campaign.sku.price = Decimal("45.00")  # repriced after the task started, before it completed
    campaign.sku.save(update_fields=["price"])
    for friend in friends(task.helps_needed):
        helping.give_help(task=task, helper=friend)
    campaign.sku.price = Decimal("80.00")  # and again after the grant: the record keeps the grant's price
    campaign.sku.save(update_fields=["price"])
    task.refresh_from_db()
    assert task.reward_value == Decimal("45.00")


def test_a_price_reward_has_no_gift_value(running):
    campaign, starter, _ = running
    assert _completed(campaign, starter).reward_value is None


def test_figures_count_tasks_helps_and_rewards(running):
    campaign, starter, _ = running
    _completed(campaign, starter)
    figures = helping.HelpKind().figures(campaign)
    assert figures["发起助力"] == 1 and figures["助力成功"] == 1 and figures["奖励已发放"] == 1
    assert figures["助力次数"] == 3 and figures["助力人数"] == 3 and figures["可疑助力"] == 0
