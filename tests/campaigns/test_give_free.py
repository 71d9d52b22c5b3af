"""Free items as real zero-price orders, priced by the order core's pricing step (a GIFT adjustment): a treat
(请好友喝一杯) gives the friend and the host one each when the friend claims, within the campaign's stock cap
and budget (the whole price is the subsidy); a help campaign's free-item reward is claimed as one. Each owed
item joins the fulfilment queue; a refusal leaves nothing half-written."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign, CampaignOrder, CampaignType, GiftState
from campaigns.types.give import kind as giving
from campaigns.types.give.kind import GiftRefused
from campaigns.types.help import kind as helping
from campaigns.types.help.kind import HelpRefused
from orders.models import AdjustmentKind, FulfilmentItem, Order, OrderState
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.campaigns.give_support import ADDRESS, friend, give_campaign, giver_in, pickup_at
from tests.campaigns.social_support import friends, help_campaign, starter_in

pytestmark = pytest.mark.django_db


def _treat_campaign(shop, **fields):
    return give_campaign(shop, settings={"mode": "treat"}, **fields)


def _started(campaign, shop):
    host, group = giver_in(shop)
    _point, at_pickup = pickup_at(shop)
    return giving.start_treat(campaign=campaign, member=host, delivery=at_pickup), group


def test_when_the_friend_claims_both_get_a_zero_price_order(shop):
    campaign = _treat_campaign(shop, budget=Decimal("100.00"), stock_cap=10)
    treat, group = _started(campaign, shop)
    mate = make_buyer(group)

    claimed = giving.claim_gift(gift=treat, member=mate, delivery=ADDRESS)

    assert claimed.state == GiftState.CLAIMED and claimed.recipient == mate
    orders = {o.member_id: o for o in Order.objects.filter(pk__in=[claimed.recipient_order_id, claimed.giver_order_id])}
    assert set(orders) == {mate.pk, treat.giver_id}
    for order in orders.values():
        assert order.state == OrderState.PAID and order.total == 0 and order.subtotal == Decimal("25.00")
        (adjustment,) = order.adjustments.all()
        assert adjustment.kind == AdjustmentKind.GIFT and adjustment.amount == Decimal("-25.00")
        assert not order.payments.exists()  # nothing to pay: no payment step
    assert orders[mate.pk].address == ADDRESS.address and orders[treat.giver_id].pickup_point_id is not None
    campaign.refresh_from_db()
    assert (campaign.stock_used, campaign.budget_used) == (2, Decimal("50.00"))
    assert sorted(CampaignOrder.objects.values_list("unit_price", "subsidy")) == [(0, Decimal("25.00"))] * 2
    owed = FulfilmentItem.objects.filter(order__in=orders.values())
    assert sorted(owed.values_list("member_id", flat=True)) == sorted([mate.pk, treat.giver_id])


def test_a_treat_beyond_the_stock_cap_is_refused_and_leaves_nothing(shop):
    campaign = _treat_campaign(shop, stock_cap=2)
    first, group = _started(campaign, shop)
    giving.claim_gift(gift=first, member=make_buyer(group), delivery=ADDRESS)
    second, group = _started(campaign, shop)

    with pytest.raises(ValidationError, match="名额"):
        giving.claim_gift(gift=second, member=make_buyer(group), delivery=ADDRESS)

    second.refresh_from_db()
    assert second.state == GiftState.OPEN and second.recipient_id is None
    assert Order.objects.count() == 2 and Campaign.objects.get(pk=campaign.pk).stock_used == 2


def test_a_treat_beyond_the_budget_is_refused_and_leaves_nothing(shop):
    campaign = _treat_campaign(shop, budget=Decimal("30.00"))  # one item fits, the pair (¥50) does not
    treat, group = _started(campaign, shop)

    with pytest.raises(ValidationError, match="预算"):
        giving.claim_gift(gift=treat, member=make_buyer(group), delivery=ADDRESS)

    treat.refresh_from_db()
    assert treat.state == GiftState.OPEN and not Order.objects.exists() and not FulfilmentItem.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 0


def test_a_friend_takes_one_treat_per_campaign(shop):
    campaign = _treat_campaign(shop)
    first, group = _started(campaign, shop)
    mate = make_buyer(group)
    giving.claim_gift(gift=first, member=mate, delivery=ADDRESS)
    second, _group = _started(campaign, shop)

    with pytest.raises(GiftRefused) as refused:
        giving.claim_gift(gift=second, member=mate, delivery=ADDRESS)
    assert refused.value.reason == "treat_taken"
    second.refresh_from_db()
    assert second.state == GiftState.OPEN


def test_a_friend_outside_the_campaigns_groups_joins_first(shop):
    treat, _group = _started(_treat_campaign(shop), shop)
    with pytest.raises(GiftRefused) as refused:
        giving.claim_gift(gift=treat, member=friend(), delivery=ADDRESS)
    assert refused.value.reason == "not_member"


def test_a_friend_outside_the_groups_sees_the_hosts_join_link_instead_of_the_claim_form(client, shop):
    treat, group = _started(_treat_campaign(shop), shop)
    outsider = friend()
    client.force_login(outsider)
    page = client.get(treat.get_absolute_url())
    body = page.content.decode()
    link = page.context["entry_link"]
    assert page.context["join_first"] and not page.context["can_claim"] and 'id="claim-form"' not in body
    assert link.group == group and link.inviter == treat.giver  # the host's own link: the join is theirs too
    assert link.get_absolute_url() in body and "先加入活动群" in body

    mate = make_buyer(group)
    client.force_login(mate)
    assert 'id="claim-form"' in client.get(treat.get_absolute_url()).content.decode()


def test_a_paid_gift_order_is_not_priced_to_zero(shop, transport):
    from tests.campaigns.give_support import paid_gift

    campaign = give_campaign(shop)
    gift = paid_gift(campaign, giver_in(shop)[0], transport)
    assert gift.order.total == Decimal("25.00") and not gift.order.adjustments.exists()


# --- Help campaigns' free items ------------------------------------------------------------------------------


def _completed(campaign, starter):
    task = helping.start_task(campaign=campaign, member=starter)
    for helper in friends(task.helps_needed):
        helping.give_help(task=task, helper=helper)
    task.refresh_from_db()
    return task


FREE = {"reward_kind": "free_item", "reward_price": None, "reward_label": "签名绘本一册"}


def test_a_help_free_item_becomes_a_zero_price_order_once(shop):
    campaign = help_campaign(shop, settings=FREE, budget=Decimal("100.00"))
    starter, _group = starter_in(shop)
    task = _completed(campaign, starter)

    order = helping.claim_reward(task=task, member=starter, delivery=ADDRESS, idempotency_key="free-1")

    assert order.state == OrderState.PAID and order.total == 0 and order.subtotal == Decimal("59.90")
    assert order.adjustments.get().kind == AdjustmentKind.GIFT
    task.refresh_from_db()
    assert task.order == order
    item = FulfilmentItem.objects.get(key=f"help:{task.pk}")
    assert item.order == order and item.label == "签名绘本一册" and item.address == ADDRESS.address
    assert Campaign.objects.get(pk=campaign.pk).budget_used == Decimal("59.90")
    # The same key is the same claim; another is refused.
    assert helping.claim_reward(task=task, member=starter, delivery=ADDRESS, idempotency_key="free-1") == order
    with pytest.raises(HelpRefused) as refused:
        helping.claim_reward(task=task, member=starter, delivery=ADDRESS, idempotency_key="free-2")
    assert refused.value.reason == "claimed"
    assert Order.objects.filter(member=starter).count() == 1


def test_a_help_free_item_without_a_sku_is_owed_with_no_order(shop, owner):
    campaign = make_campaign(shop, None, owner=owner, type=CampaignType.HELP, settings={**FREE, "helps_needed": 2})
    starter, _group = starter_in(shop)
    task = _completed(campaign, starter)

    assert helping.claim_reward(task=task, member=starter, delivery=ADDRESS, idempotency_key="k") is None

    item = FulfilmentItem.objects.get(key=f"help:{task.pk}")
    assert item.order is None and item.member == starter and not Order.objects.exists()
    with pytest.raises(HelpRefused):
        helping.claim_reward(task=task, member=starter, delivery=ADDRESS, idempotency_key="k2")


def test_the_help_task_page_offers_the_free_item_and_the_claim_page_places_it(client, shop):
    from django.urls import reverse

    campaign = help_campaign(shop, settings=FREE)
    starter, _group = starter_in(shop)
    task = _completed(campaign, starter)
    client.force_login(starter)
    assert 'data-testid="claim-reward"' in client.get(task.get_absolute_url()).content.decode()

    response = client.post(
        reverse("campaigns:help_claim", args=[task.pk]),
        {"delivery": "shipping", "recipient_name": "李雷", "recipient_phone": "13900139000", "address": "杭州"},
    )

    order = Order.objects.get(member=starter)
    assert response.status_code == 302 and response.url == reverse("orders:member_order", args=[order.pk])
    assert order.total == 0 and order.state == OrderState.PAID


# --- The treat's pages and API, the dashboard's figures ------------------------------------------------------


def test_the_treat_page_asks_where_the_hosts_item_goes_then_gives_the_link(client, shop):
    from django.urls import reverse

    campaign = _treat_campaign(shop)
    host, _group = giver_in(shop)
    point, _at_pickup = pickup_at(shop)
    client.force_login(host)
    assert 'data-testid="start-treat"' in client.get(campaign.get_absolute_url()).content.decode()
    url = reverse("campaigns:give_treat", args=[campaign.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"delivery": "pickup", "recipient_name": "李婷"}).status_code == 400

    response = client.post(
        url,
        {"delivery": "pickup", "recipient_name": "李婷", "recipient_phone": "13700004321", "pickup_point": point.pk},
    )

    treat = campaign.gifts.get()
    assert response.status_code == 302 and response.url == treat.get_absolute_url()
    assert treat.mode == "treat" and treat.giver == host and treat.giver_delivery["pickup_point_id"] == point.pk
    assert "请你喝一杯" not in client.get(treat.get_absolute_url()).content.decode()  # the host's own view


def test_the_api_starts_a_treat_and_a_friend_claims_it(client, shop):
    from django.urls import reverse

    campaign = _treat_campaign(shop)
    host, group = giver_in(shop)
    client.force_login(host)
    body = {"delivery": "shipping", "recipient_name": "李婷", "recipient_phone": "13700004321", "address": "北京"}
    started = client.post(reverse("api-give-treat", args=[campaign.pk]), body, content_type="application/json")
    assert started.status_code == 201 and started.json()["mode"] == "treat" and started.json()["share_url"]

    client.force_login(make_buyer(group))
    token = started.json()["token"]
    claimed = client.post(reverse("api-gift-claim", args=[token]), body, content_type="application/json")
    assert claimed.status_code == 200 and claimed.json()["state"] == "claimed"
    assert Order.objects.filter(total=0, state=OrderState.PAID).count() == 2


def test_the_dashboard_shows_a_give_campaigns_figures(shop, operator_client):
    from django.urls import reverse

    campaign = _treat_campaign(shop)
    treat, group = _started(campaign, shop)
    giving.claim_gift(gift=treat, member=make_buyer(group), delivery=ADDRESS)

    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))

    figures = dict(detail.context["figures"])
    assert figures["发出礼物"] == 1 and figures["已领取"] == 1 and figures["免费件数"] == 2
    assert figures["免费补贴（元）"] == Decimal("50.00")
    assert operator_client.get(reverse("dashboard:campaign_poster", args=[campaign.pk])).status_code == 200
