"""阶梯拼团: members pay the first tier's price; the team closes at the largest tier at once or at expiry at
the tier it reached, and the difference is refunded automatically, once per member."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import SeatState, Team, TeamState
from campaigns.types.group_buy import kind as group_buy
from orders.models import OrderState, Refund
from tests.builders.campaigns import join, make_campaign, open_team, refresh
from tests.builders.orders import deliver, make_buyer, pay

pytestmark = pytest.mark.django_db

TIERS = {
    "tiers": [{"size": 2, "price": "39.00"}, {"size": 3, "price": "35.00"}, {"size": 4, "price": "33.00"}],
    "time_limit_minutes": 60,
}


@pytest.fixture
def tiered(shop, gb_sku):
    return make_campaign(shop, gb_sku, settings=TIERS)


def _team(campaign, group, transport, members: int):
    people = [make_buyer(group) for _ in range(members)]
    leader = open_team(campaign, people[0], group)
    pay(leader.order, transport)
    seats = [leader] + [join(leader.team, person, group) for person in people[1:]]
    for seat in seats[1:]:
        pay(seat.order, transport)
    return Team.objects.get(pk=leader.team_id), seats


def _expire(minutes=61):
    return group_buy.GroupBuy().expire_due(now=timezone.now() + timedelta(minutes=minutes))


def test_members_pay_the_first_tiers_price(tiered):
    assert tiered.settings["group_price"] == "39.00" and tiered.settings["team_size"] == 4


def test_a_team_at_the_middle_tier_closes_at_expiry_and_each_gets_the_difference(tiered, gb_group, transport):
    team, seats = _team(tiered, gb_group, transport, 3)
    assert team.state == TeamState.OPEN  # three of four: still open, not shippable yet

    assert _expire() == 1
    _expire(62)  # a rerun pays nothing twice

    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.final_price == Decimal("35.00") and not team.simulated
    for seat in seats:
        refunds = Refund.objects.filter(order=seat.order)
        assert [r.amount for r in refunds] == [Decimal("4.00")]
    deliver(transport)
    for seat in seats:
        refresh(seat, seat.order)
        assert seat.state == SeatState.WON
        assert seat.order.state == OrderState.PAID  # a partial refund keeps the order
        assert seat.order.total - seat.order.refunded_amount == Decimal("35.00")


def test_the_largest_tier_closes_the_team_at_once(tiered, gb_group, transport):
    team, seats = _team(tiered, gb_group, transport, 4)
    assert team.state == TeamState.SUCCEEDED and team.final_price == Decimal("33.00")
    group_buy.refund_owed()
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("6.00")] * 4


def test_below_the_first_tier_the_team_fails(shop, gb_sku, gb_group, transport):
    campaign = make_campaign(
        shop, gb_sku, settings={**TIERS, "tiers": [{"size": 3, "price": "39.00"}, {"size": 5, "price": "35.00"}]}
    )
    team, seats = _team(campaign, gb_group, transport, 2)
    _expire()
    team.refresh_from_db()
    assert team.state == TeamState.FAILED
    assert [r.amount for r in Refund.objects.order_by("pk")] == [Decimal("39.00")] * 2


def test_the_first_tier_reached_refunds_nothing(tiered, gb_group, transport):
    team, _ = _team(tiered, gb_group, transport, 2)
    _expire()
    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.final_price == Decimal("39.00")
    assert not Refund.objects.exists()


def test_the_leader_keeps_their_discount_under_tiers(shop, gb_sku, gb_group, transport):
    campaign = make_campaign(shop, gb_sku, settings={**TIERS, "leader_discount": "3.00"})
    team, seats = _team(campaign, gb_group, transport, 3)
    _expire()
    leader_refund = Refund.objects.get(order=seats[0].order)
    assert seats[0].order.total == Decimal("36.00") and leader_refund.amount == Decimal("4.00")
