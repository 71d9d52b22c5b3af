"""拼团 and referrals: a newcomer whom a member's team share link brings is bound to that member by the join
they pay for, and that paid order is the newcomer's referral first order (the qualification and the shop's
rewards follow from it), exactly once, however often the payment is notified. The order, placed before that
binding, names the member as its referrer from then on."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import CampaignAct, TeamSeat
from groups.models import Channel
from groups.services import join_via_link
from orders.models import Order
from referrals.models import EventKind, ReferralEdge, ReferralEvent, Reward, RewardKind, RewardStatus
from referrals.services import RewardRuleInput, save_reward_rule
from tests.builders.campaigns import open_team
from tests.builders.orders import SHIPPING_FORM, pay
from tests.factories import InviteLinkFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def points_rule(shop, owner):
    return save_reward_rule(shop=shop, by=owner, data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100")))


def _newcomer_through_the_shops_poster(group, owner):
    """Someone new to the shop who came into the group by the shop's own poster: nobody is credited yet (the
    shop's staff never are), so only a member's share link can bring them to someone."""
    newcomer = UserFactory()
    join_via_link(user=newcomer, code=InviteLinkFactory(group=group, inviter=owner, channel=Channel.POSTER).code)
    assert not ReferralEdge.objects.filter(invitee=newcomer).exists()
    return newcomer


def _join_by_share_link(campaign, team, sharer, member, group, key="join-1"):
    """The member joins the team with the sharer's share-link token, as the app does; returns the order."""
    token = services.share_link(campaign, sharer, team).split("by=")[1]
    client = APIClient()
    client.force_authenticate(member)
    response = client.post(
        f"/api/v1/me/campaigns/{campaign.pk}/teams/{team.pk}/join/",
        {**SHIPPING_FORM, "group": group.pk, "by": token},
        format="json",
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order"])


def _open_paid_team(campaign, leader, group, transport):
    seat = open_team(campaign, leader, group)
    pay(seat.order, transport)
    return TeamSeat.objects.select_related("team").get(pk=seat.pk).team


@pytest.fixture
def share_link_join(campaign, people, gb_group, owner, transport):
    """A member's paid team and a newcomer who came by the shop's poster joining it by the member's share link:
    the member, the newcomer and their join's order, not paid yet."""
    leader = people[0]
    team = _open_paid_team(campaign, leader, gb_group, transport)
    newcomer = _newcomer_through_the_shops_poster(gb_group, owner)
    return leader, newcomer, _join_by_share_link(campaign, team, leader, newcomer, gb_group)


def test_a_newcomers_paid_team_join_is_their_referral_first_order(campaign, points_rule, share_link_join, transport):
    leader, newcomer, order = share_link_join
    pay(order, transport)

    edge = ReferralEdge.objects.get(shop=campaign.shop, invitee=newcomer)
    assert (edge.inviter, edge.campaign_id) == (leader, campaign.pk)
    (first,) = ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.FIRST_ORDER)
    assert (first.order, first.inviter, first.edge, first.amount) == (order, leader, edge, Decimal("29.90"))
    assert not ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.REPEAT_ORDER).exists()
    # The shop qualifies referrals on a paid order (its default): this one qualifies, and the rule's reward waits.
    assert edge.qualified_at is not None and edge.qualifying_order == order
    (qualified,) = ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.QUALIFIED)
    assert (qualified.order, qualified.inviter) == (order, leader)
    (reward,) = Reward.objects.filter(invitee=newcomer)
    assert (reward.inviter, reward.rule, reward.order) == (leader, points_rule, order)
    assert reward.status == RewardStatus.PENDING
    assert CampaignAct.objects.get(campaign=campaign, actor=newcomer).new_member


def test_a_join_payment_notified_twice_is_one_first_order_and_one_reward(points_rule, share_link_join, transport):
    leader, newcomer, order = share_link_join
    pay(order, transport, duplicate=True)

    assert ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.FIRST_ORDER, order=order).count() == 1
    assert ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.QUALIFIED).count() == 1
    assert ReferralEvent.objects.filter(invitee=newcomer, kind=EventKind.REPEAT_ORDER).count() == 0
    assert Reward.objects.filter(invitee=newcomer).count() == 1
    assert order.referrer == leader  # named once, by the first notification; the second finds it set


def test_a_newcomers_paid_team_join_names_the_sharer_as_its_referrer(share_link_join, owner, transport):
    leader, _newcomer, order = share_link_join
    assert order.referrer is None  # placed before anyone was bound to the newcomer
    pay(order, transport)

    assert order.referrer == leader
    api = APIClient()
    api.force_authenticate(owner)
    body = api.get(f"/api/v1/shop/orders/{order.pk}/").json()
    assert body["referrer"] == {"id": leader.pk, "public_name": leader.public_name}, body
    dashboard = Client()
    dashboard.force_login(owner)
    page = dashboard.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert f"推荐人：{leader.public_name}" in page


def test_a_join_order_that_already_has_a_referrer_keeps_it(campaign, people, share_link_join, transport):
    leader, newcomer, order = share_link_join
    earlier = people[1]
    Order.objects.filter(pk=order.pk).update(referrer=earlier)
    pay(order, transport)

    assert ReferralEdge.objects.get(shop=campaign.shop, invitee=newcomer).inviter == leader
    assert order.referrer == earlier
