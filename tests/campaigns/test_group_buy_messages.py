"""What a group-buy member is told about a payment is the outcome the group-buy hook decided: the message
receivers run after the deciders (shequn.hooks.TELL), so a payment bounced from a full team and refunded
is never promised a shipment, while a seated member still is."""

import pytest

from campaigns.models import SeatState, Team, TeamState
from notifications.models import Notification
from orders.models import OrderState
from tests.builders.campaigns import join, open_team, refresh
from tests.builders.orders import deliver, pay

pytestmark = pytest.mark.django_db

WILL_SHIP = "会尽快为你发货"


def _told(member) -> dict[str, str]:
    return dict(Notification.objects.filter(user=member).values_list("kind", "body"))


def test_a_payment_bounced_from_a_full_team_is_never_promised_a_shipment(campaign, people, gb_group, transport):
    leader = open_team(campaign, people[0], gb_group)
    pay(leader.order, transport)
    team = Team.objects.get(pk=leader.team_id)
    seats = [join(team, person, gb_group) for person in people[1:4]]  # three joiners for two seats
    for seat in seats[:2]:
        pay(seat.order, transport)
    late = seats[2]

    pay(late.order, transport)

    refresh(late, team)
    assert team.state == TeamState.SUCCEEDED and late.state == SeatState.BOUNCED
    told = _told(late.member)
    assert WILL_SHIP not in told["order_paid"] and late.order.number in told["order_paid"]
    assert all(WILL_SHIP not in body for body in told.values())
    # The normal path is unchanged: every seated member was told their order will ship.
    for person in people[:3]:
        assert WILL_SHIP in _told(person)["order_paid"]

    deliver(transport)  # the refund lands: the bounced member is told their money is back
    late.order.refresh_from_db()
    assert late.order.state == OrderState.REFUNDED and "order_refunded" in _told(late.member)
