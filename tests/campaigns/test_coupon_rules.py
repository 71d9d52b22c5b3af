"""Rules that give coupons, each through grant_coupon under a key of its own act: a help campaign's coupon
reward (granted to the starter when the last help lands, once per task; a sold-out template never refuses
the help, and the page's retry gives it once), and a repeat-purchase reminder's coupon (one per reminder,
a rerun of the batch gives none twice, and the reminder's message names the coupon it carries)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns import services
from campaigns.models import CampaignType, Coupon, CouponChannel, HelpTaskState
from campaigns.types.coupon.kind import grant_coupon
from campaigns.types.help import kind as helping
from notifications.models import Notification
from orders.reminders import dispatch_due_reminders, send_reminder_batch
from tests.builders.campaigns import coupon_template, make_campaign
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.campaigns.social_support import HELP_SETTINGS, friends, starter_in
from tests.factories import GroupFactory, ShopFactory, SkuFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _help_with_coupon(shop, template, **settings):
    return make_campaign(
        shop,
        None,
        type=CampaignType.HELP,
        name="三人助力得券",
        settings={**HELP_SETTINGS, "reward_kind": "coupon", "reward_coupon": template.pk, **settings},
    )


def _complete(campaign, starter):
    task = helping.start_task(campaign=campaign, member=starter)
    for friend in friends(task.helps_needed):
        helping.give_help(task=task, helper=friend)
    task.refresh_from_db()
    return task


def test_the_last_help_grants_the_starter_a_coupon_once(shop):
    template = coupon_template(shop, name="助力券 满100减20")
    campaign = _help_with_coupon(shop, template)
    assert campaign.settings["reward_label"] == "助力券 满100减20"
    starter, _group = starter_in(shop)
    task = _complete(campaign, starter)
    assert task.state == HelpTaskState.COMPLETED
    coupon = Coupon.objects.get(member=starter)
    assert (coupon.campaign_id, coupon.channel, coupon.grant_key) == (
        template.pk,
        CouponChannel.RULE,
        f"help:{task.pk}",
    )
    assert helping.grant_coupon_reward(task) == coupon  # a retry gives nothing twice
    assert Coupon.objects.filter(member=starter).count() == 1
    with pytest.raises(helping.HelpRefused):  # nothing to order: the coupon is the reward
        helping.claim_reward(task=task, member=starter, delivery=None, idempotency_key="k")


def test_a_sold_out_coupon_never_refuses_the_help_and_the_retry_gives_it_later(client, shop):
    template = coupon_template(shop, stock_cap=1)
    campaign = _help_with_coupon(shop, template)
    someone_else, _group = starter_in(shop)
    grant_coupon(template=template, member=someone_else, reason="先发完", key="first")
    starter, _group = starter_in(shop)
    task = _complete(campaign, starter)
    assert task.state == HelpTaskState.COMPLETED and not Coupon.objects.filter(member=starter).exists()

    services.update_campaign(campaign=template, by=None, stock_cap=2)
    client.force_login(starter)
    response = client.post(reverse("campaigns:help_claim", args=[task.pk]))
    assert response["Location"] == reverse("campaigns:coupon_centre")
    client.post(reverse("campaigns:help_claim", args=[task.pk]))
    assert Coupon.objects.filter(member=starter, grant_key=f"help:{task.pk}").count() == 1


def test_a_help_coupon_reward_must_be_a_coupon_template_of_the_shop(shop):
    elsewhere = coupon_template(ShopFactory())
    with pytest.raises(ValidationError) as refused:
        _help_with_coupon(shop, elsewhere)
    assert "reward_coupon" in refused.value.message_dict


# --- Repeat-purchase reminders -------------------------------------------------------------------------------


def _run_reminders(now):
    sent = []
    dispatch_due_reminders(now=now, batch_size=1000, enqueue=lambda ids: sent.append(send_reminder_batch(ids, now=now)))
    return sum(sent)


def test_a_reminder_carries_one_coupon_of_the_shops_reminder_template(client, shop):
    template = coupon_template(shop, settings={"repurchase_reminder": True}, name="复购券")
    coupon_template(shop, name="别的券")  # not marked: not given
    group = GroupFactory(shop=shop)
    buyer = make_buyer(group)
    order = order_for(buyer, group, SkuFactory(product__shop=shop))
    pay(order, DjangoClientTransport(client))
    order.refresh_from_db()

    at = order.paid_at + 28 * DAY + timedelta(minutes=1)
    assert _run_reminders(at) == 1
    coupon = Coupon.objects.get(member=buyer)
    assert coupon.campaign_id == template.pk and coupon.grant_key.startswith("reminder:")
    assert _run_reminders(at + timedelta(minutes=5)) == 0  # a rerun: no reminder, no coupon twice
    assert Coupon.objects.filter(member=buyer).count() == 1


def test_the_reminders_message_names_the_coupon_it_carries_only_to_those_who_got_one(client, shop):
    coupon_template(
        shop,
        settings={"repurchase_reminder": True, "coupon_kind": "no_threshold", "amount_off": "5"},
        name="复购回馈券",
        stock_cap=1,
    )
    group = GroupFactory(shop=shop)
    sku = SkuFactory(product__shop=shop)
    buyers = [make_buyer(group) for _ in range(2)]
    for buyer in buyers:
        order = order_for(buyer, group, sku)
        pay(order, DjangoClientTransport(client))
    order.refresh_from_db()

    assert _run_reminders(order.paid_at + 28 * DAY + timedelta(minutes=1)) == 2

    got = Coupon.objects.get().member  # the supply of one: one of the two got it
    said = {n.user_id: n.body for n in Notification.objects.filter(kind="repurchase")}
    assert said[got.pk].endswith("附赠一张「复购回馈券」优惠券（无门槛减 5），已放入你的券包，下单时可用。")
    other = next(buyer for buyer in buyers if buyer != got)
    assert "优惠券" not in said[other.pk] and "一键再来一单" in said[other.pk]


def test_without_a_reminder_template_a_reminder_carries_no_coupon(client, shop):
    coupon_template(shop)
    group = GroupFactory(shop=shop)
    buyer = make_buyer(group)
    order = order_for(buyer, group, SkuFactory(product__shop=shop))
    pay(order, DjangoClientTransport(client))
    order.refresh_from_db()
    assert _run_reminders(order.paid_at + 28 * DAY + timedelta(minutes=1)) == 1
    assert not Coupon.objects.filter(member=buyer).exists()
    assert "优惠券" not in Notification.objects.get(kind="repurchase").body
