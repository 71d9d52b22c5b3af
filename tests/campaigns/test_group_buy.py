"""拼团: opening, joining, success on the N-th payment, failure and refunds at expiry, bounced payments,
shipping only after success, one seat per member, new members only, 模拟成团."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import CampaignAct, SeatState, Team, TeamSeat, TeamState
from campaigns.selectors import campaign_usage
from campaigns.types.group_buy import kind as group_buy
from orders import services as order_services
from orders.models import Order, OrderState, Refund
from referrals.models import EventKind, ReferralEvent
from tests.builders.campaigns import join, make_campaign, open_team, refresh
from tests.builders.orders import SHIPPING, deliver, make_buyer, pay

pytestmark = pytest.mark.django_db


def _team_of_three(campaign, people, gb_group, transport):
    leader_seat = open_team(campaign, people[0], gb_group)
    pay(leader_seat.order, transport)
    team = Team.objects.get(pk=leader_seat.team_id)
    return team, leader_seat


def _later(minutes):
    return timezone.now() + timedelta(minutes=minutes)


# --- Opening ----------------------------------------------------------------------------------------


def test_a_team_opens_when_the_leader_pays_the_group_price(campaign, people, gb_group, transport, gb_sku):
    seat = open_team(campaign, people[0], gb_group)
    assert seat.team.state == TeamState.PENDING and seat.order.total == Decimal("29.90")
    # The line is at the SKU's price (59.90); the campaign's price is an adjustment of its own, on that line.
    line = seat.order.lines.get()
    assert (line.unit_price, line.adjustment_amount) == (Decimal("59.90"), Decimal("-30.00"))
    adjustment = seat.order.adjustments.get()
    assert (adjustment.kind, adjustment.source, adjustment.amount, adjustment.sku_id) == (
        "campaign_price",
        campaign.order_source,
        Decimal("-30.00"),
        gb_sku.pk,
    )
    assert (seat.order.subtotal, seat.order.discount) == (Decimal("59.90"), Decimal("30.00"))

    pay(seat.order, transport)

    team = Team.objects.get(pk=seat.team_id)
    assert team.state == TeamState.OPEN and team.seats_taken == 1 and team.size == 3
    assert team.expires_at == team.opened_at + timedelta(minutes=60)
    assert CampaignAct.objects.filter(campaign=campaign, actor=people[0], kind="team_open").count() == 1
    gb_sku.refresh_from_db()
    assert gb_sku.stock == 49


def test_the_leader_pays_less_when_the_campaign_says_so(shop, gb_sku, people, gb_group):
    campaign = make_campaign(
        shop,
        gb_sku,
        settings={"team_size": 2, "group_price": "29.90", "leader_discount": "5.00", "time_limit_minutes": 60},
    )
    leader = open_team(campaign, people[0], gb_group)
    assert leader.order.total == Decimal("24.90")
    leader.team.state = TeamState.OPEN
    leader.team.expires_at = _later(30)
    Team.objects.filter(pk=leader.team_id).update(state=TeamState.OPEN, seats_taken=1, expires_at=_later(30))
    assert join(leader.team, people[1], gb_group).order.total == Decimal("29.90")


def test_the_same_key_opens_one_team(campaign, people, gb_group):
    first = open_team(campaign, people[0], gb_group, key="k-1")
    again = open_team(campaign, people[0], gb_group, key="k-1")
    assert first.pk == again.pk and Team.objects.count() == 1 and Order.objects.count() == 1


def test_a_campaign_that_is_not_running_opens_no_team(shop, gb_sku, people, gb_group):
    draft = make_campaign(shop, gb_sku, run=False)
    with pytest.raises(ValidationError, match="活动未在进行中"):
        open_team(draft, people[0], gb_group)
    assert not Order.objects.exists() and not Team.objects.exists()


def test_an_unpaid_leader_order_cancelled_voids_the_team(campaign, people, gb_group):
    seat = open_team(campaign, people[0], gb_group)
    order_services.cancel_order(order=seat.order, by=people[0])
    refresh(seat, seat.team)
    assert seat.state == SeatState.CANCELLED and seat.team.state == TeamState.VOID
    # …and the member may open another one.
    assert open_team(campaign, people[0], gb_group).team.state == TeamState.PENDING


# --- Joining and success ----------------------------------------------------------------------------


def test_the_team_succeeds_the_moment_its_last_member_pays(campaign, people, gb_group, transport):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    second = join(team, people[1], gb_group, inviter=people[0])
    third = join(team, people[2], gb_group, inviter=people[1])
    pay(second.order, transport)
    team.refresh_from_db()
    assert team.state == TeamState.OPEN and team.seats_taken == 2

    pay(third.order, transport)

    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 3 and team.closed_at is not None
    assert set(team.seats.values_list("state", flat=True)) == {SeatState.WON}
    assert list(team.seats.order_by("seat_number").values_list("seat_number", flat=True)) == [1, 2, 3]


def test_orders_of_a_team_that_has_not_succeeded_cannot_ship(campaign, people, gb_group, transport, owner):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    with pytest.raises(ValidationError, match="拼团尚未成功"):
        order_services.ship_order(order=leader.order, by=owner, tracking_number="SF1")
    leader.order.refresh_from_db()
    assert leader.order.state == OrderState.PAID

    for person in people[1:3]:
        pay(join(team, person, gb_group).order, transport)

    order_services.ship_order(order=leader.order, by=owner, tracking_number="SF1")
    leader.order.refresh_from_db()
    assert leader.order.state == OrderState.SHIPPED


def test_joins_are_credited_to_the_member_whose_link_brought_them(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    pay(join(team, people[1], gb_group, inviter=people[0]).order, transport)
    event = ReferralEvent.objects.get(kind=EventKind.CAMPAIGN_ACT, campaign_id=campaign.pk)
    assert (event.inviter, event.invitee) == (people[0], people[1])
    act = CampaignAct.objects.get(campaign=campaign, kind="team_join")
    assert act.inviter == people[0] and act.actor == people[1]


def test_a_newcomer_who_joins_through_a_share_link_counts_as_a_new_member(campaign, people, gb_group, transport):
    from groups.services import add_member
    from referrals.models import ReferralEdge
    from tests.factories import UserFactory

    team, _ = _team_of_three(campaign, people, gb_group, transport)
    newcomer = UserFactory()
    add_member(group=gb_group, user=newcomer, by=None)  # came in during the campaign, nobody credited yet
    pay(join(team, newcomer, gb_group, inviter=people[0]).order, transport)

    act = CampaignAct.objects.get(campaign=campaign, actor=newcomer)
    assert act.new_member
    assert ReferralEdge.objects.get(shop=campaign.shop, invitee=newcomer).inviter == people[0]
    assert group_buy.GroupBuy().figures(campaign)["new_members"] == 1


def test_a_member_is_never_twice_in_one_team(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    join(team, people[1], gb_group)
    with pytest.raises(ValidationError, match="已在这个团"):
        join(team, people[1], gb_group)
    with pytest.raises(ValidationError, match="已在这个团"):
        join(team, people[0], gb_group)  # the leader
    assert team.seats.count() == 2


def test_a_member_is_never_in_two_open_teams_of_one_campaign(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    with pytest.raises(ValidationError, match="进行中的团"):
        open_team(campaign, people[0], gb_group)
    join(team, people[1], gb_group)
    with pytest.raises(ValidationError, match="进行中的团"):
        open_team(campaign, people[1], gb_group)
    assert Team.objects.count() == 1 and Order.objects.count() == 2


def test_the_unique_index_stands_behind_the_service(campaign, people, gb_group, transport):
    """Even a write that skips the checks cannot seat one member twice in open teams of a campaign."""
    from django.db import IntegrityError, transaction

    team, leader = _team_of_three(campaign, people, gb_group, transport)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamSeat.objects.create(
            team=team,
            campaign=campaign,
            member=people[0],
            role="joiner",
            order=open_team(campaign, people[3], gb_group).order,
            unit_price=1,
        )


def test_after_success_a_member_may_open_a_new_team(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    for person in people[1:3]:
        pay(join(team, person, gb_group).order, transport)
    assert open_team(campaign, people[0], gb_group).team_id != team.pk


def test_new_members_only_refuses_someone_who_bought_before(shop, gb_sku, people, gb_group, transport):
    campaign = make_campaign(shop, gb_sku, settings={**_settings(), "new_members_only": True})
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    old_customer = people[1]
    pay(
        order_services.place_order(
            member=old_customer,
            group=gb_group,
            lines=[order_services.LineRequest(gb_sku.pk, 1)],
            delivery=SHIPPING,
            idempotency_key="before",
        ),
        transport,
    )
    with pytest.raises(ValidationError, match="仅限新人"):
        join(team, old_customer, gb_group)
    assert join(team, people[2], gb_group).state == SeatState.PENDING


def _settings(**overrides):
    return {"team_size": 3, "group_price": "29.90", "time_limit_minutes": 60, **overrides}


# --- Payments that find no seat -------------------------------------------------------------------


def test_a_payment_into_a_full_team_is_refunded_exactly_once(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    seats = [join(team, person, gb_group) for person in people[1:4]]  # three joiners for two seats
    for seat in seats[:2]:
        pay(seat.order, transport)
    late = seats[2]

    pay(late.order, transport)

    refresh(late, team)
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 3
    assert late.state == SeatState.BOUNCED
    assert Refund.objects.filter(order=late.order).count() == 1
    deliver(transport)
    late.order.refresh_from_db()
    assert late.order.state == OrderState.REFUNDED and late.order.refunded_amount == Decimal("29.90")
    group_buy.refund_owed()  # a rerun of the job adds nothing
    assert Refund.objects.filter(order=late.order).count() == 1


def test_unpaid_orders_of_a_closed_team_are_cancelled(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    seats = [join(team, person, gb_group) for person in people[1:4]]
    for seat in seats[:2]:
        pay(seat.order, transport)
    assert group_buy.cancel_unpaid_team_orders(team.pk) == 1
    refresh(seats[2], seats[2].order)
    assert seats[2].state == SeatState.CANCELLED and seats[2].order.state == OrderState.CANCELLED


def test_the_job_cancels_unpaid_orders_a_lost_task_left_behind(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    seats = [join(team, person, gb_group) for person in people[1:4]]
    for seat in seats[:2]:
        pay(seat.order, transport)  # the team fills; its after-commit cancel never ran in this test
    group_buy.GroupBuy().expire_due(now=_later(1))
    group_buy.GroupBuy().expire_due(now=_later(2))
    refresh(seats[2], seats[2].order)
    assert seats[2].state == SeatState.CANCELLED and seats[2].order.state == OrderState.CANCELLED


def test_a_payment_after_expiry_is_refunded_even_before_the_job_runs(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    seat = join(team, people[1], gb_group)
    Team.objects.filter(pk=team.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    pay(seat.order, transport)

    refresh(seat, team)
    assert seat.state == SeatState.BOUNCED and team.seats_taken == 1
    assert Refund.objects.filter(order=seat.order).count() == 1


def test_a_payment_into_a_failed_team_is_refunded_once(campaign, people, gb_group, transport):
    """The member was on the cashier when the team failed: the job cancelled the unpaid order, and the money
    that arrives afterwards goes straight back (once), whatever the job does next."""
    from orders.models import SimulatedCharge
    from orders.payments.simulated import deliver_due, settle

    team, leader = _team_of_three(campaign, people, gb_group, transport)
    seat = join(team, people[1], gb_group)
    payment, _ = order_services.start_payment(order=seat.order)
    group_buy.GroupBuy().expire_due(now=_later(61))
    refresh(team, seat)
    assert team.state == TeamState.FAILED and seat.state == SeatState.CANCELLED

    settle(SimulatedCharge.objects.get(reference=payment.provider_ref), succeeded=True)
    deliver_due(post=transport)

    assert Refund.objects.filter(order=seat.order).count() == 1
    group_buy.GroupBuy().expire_due(now=_later(62))
    deliver(transport)
    assert Refund.objects.filter(order=seat.order).count() == 1
    assert Refund.objects.filter(order=leader.order).count() == 1
    seat.order.refresh_from_db()
    assert seat.order.state == OrderState.CANCELLED and seat.state == SeatState.CANCELLED


def test_a_payment_into_a_failed_team_before_its_order_is_cancelled_bounces_once(
    campaign, people, gb_group, transport, monkeypatch
):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    seat = join(team, people[1], gb_group)
    monkeypatch.setattr(group_buy, "cancel_unpaid_in_closed_teams", lambda **kw: 0)  # the cancel has not run yet
    group_buy.GroupBuy().expire_due(now=_later(61))

    pay(seat.order, transport)

    seat.refresh_from_db()
    assert seat.state == SeatState.BOUNCED
    assert Refund.objects.filter(order=seat.order).count() == 1
    monkeypatch.undo()
    group_buy.GroupBuy().expire_due(now=_later(62))
    assert Refund.objects.filter(order=seat.order).count() == 1


# --- Expiry -------------------------------------------------------------------------------------------


def test_an_unfilled_team_fails_at_expiry_and_every_paid_order_is_refunded(campaign, people, gb_group, transport):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    joiner = join(team, people[1], gb_group)
    pay(joiner.order, transport)
    kind = group_buy.GroupBuy()
    assert kind.expire_due(now=_later(59)) == 0  # not yet

    assert kind.expire_due(now=_later(61)) == 1
    assert kind.expire_due(now=_later(61)) == 0  # twice: nothing more

    refresh(team, leader, joiner)
    assert team.state == TeamState.FAILED
    assert leader.state == joiner.state == SeatState.LOST
    for seat in (leader, joiner):
        assert Refund.objects.filter(order=seat.order).count() == 1
    deliver(transport)
    for seat in (leader, joiner):
        seat.order.refresh_from_db()
        assert seat.order.state == OrderState.REFUNDED and seat.order.refunded_amount == seat.order.total
        assert order_services.reconcile(seat.order)["balanced"]


def test_one_refund_that_fails_never_rolls_back_the_others(campaign, people, gb_group, transport, monkeypatch):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    joiner = join(team, people[1], gb_group)
    pay(joiner.order, transport)
    real = order_services.approve_refund

    def broken_for_leader(*, order, by, reason=""):
        if order.pk == leader.order_id:
            raise ValidationError("provider unavailable")
        return real(order=order, by=by, reason=reason)

    monkeypatch.setattr(order_services, "approve_refund", broken_for_leader)
    group_buy.GroupBuy().expire_due(now=_later(61))

    assert Refund.objects.filter(order=joiner.order).count() == 1
    assert not Refund.objects.filter(order=leader.order).exists()
    leader.refresh_from_db()
    assert leader.refund_started_at is None  # left for the next run

    monkeypatch.setattr(order_services, "approve_refund", real)
    group_buy.GroupBuy().expire_due(now=_later(62))
    assert Refund.objects.filter(order=leader.order).count() == 1
    assert Refund.objects.filter(order=joiner.order).count() == 1


def test_simulated_fill_completes_an_unfilled_team_and_says_so(shop, gb_sku, people, gb_group, transport, owner):
    campaign = make_campaign(shop, gb_sku, settings=_settings(simulate_fill=True))
    team, leader = _team_of_three(campaign, people, gb_group, transport)

    group_buy.GroupBuy().expire_due(now=_later(61))

    refresh(team, leader)
    assert team.state == TeamState.SUCCEEDED and team.simulated and team.seats_taken == 1
    assert leader.state == SeatState.WON and not Refund.objects.exists()
    figures = group_buy.GroupBuy().figures(campaign)
    assert figures["teams_succeeded"] == 1 and figures["teams_simulated"] == 1
    order_services.ship_order(order=leader.order, by=owner, tracking_number="SF2")


def test_simulated_fill_is_off_by_default(campaign):
    assert campaign.settings["simulate_fill"] is False


def test_cancelling_a_campaign_fails_its_open_teams(campaign, people, gb_group, transport, owner):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    services.cancel_campaign(campaign=campaign, by=owner, reason="供应商断货")
    team.refresh_from_db()
    assert team.state == TeamState.FAILED
    group_buy.refund_owed()
    assert Refund.objects.filter(order=leader.order).count() == 1


def test_an_ended_campaign_lets_open_teams_finish(campaign, people, gb_group, transport):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    services.end_due(now=campaign.ends_at + timedelta(seconds=1))
    campaign.refresh_from_db()
    assert campaign.state == "ended"
    with pytest.raises(ValidationError, match="活动未在进行中"):
        open_team(campaign, people[3], gb_group)
    for person in people[1:3]:
        pay(join(team, person, gb_group).order, transport)
    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED


# --- A refund inside a succeeded team -----------------------------------------------------------------


def test_a_refund_inside_a_succeeded_team_keeps_the_team_consistent(campaign, people, gb_group, transport, owner):
    team, leader = _team_of_three(campaign, people, gb_group, transport)
    joiners = [join(team, person, gb_group) for person in people[1:3]]
    for seat in joiners:
        pay(seat.order, transport)

    order_services.refund_order(order=joiners[0].order, by=owner, reason="买错了")
    deliver(transport)

    refresh(team, *joiners)
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 3
    assert joiners[0].state == SeatState.REFUNDED and joiners[1].state == SeatState.WON
    assert team.seats.filter(seat_number__isnull=False).count() == team.seats_taken
    campaign.refresh_from_db()
    assert campaign_usage(campaign)[0] == 2  # the refunded unit went back to the campaign, once
    group_buy.GroupBuy().expire_due(now=_later(120))
    assert Refund.objects.filter(order=joiners[0].order).count() == 1
    assert not Refund.objects.filter(order__in=[leader.order, joiners[1].order]).exists()


def test_a_refund_in_an_open_team_gives_the_seat_back(campaign, people, gb_group, transport, owner):
    team, _ = _team_of_three(campaign, people, gb_group, transport)
    joiner = join(team, people[1], gb_group)
    pay(joiner.order, transport)
    order_services.refund_order(order=joiner.order, by=owner, reason="不想等了")
    deliver(transport)
    refresh(team, joiner)
    assert team.state == TeamState.OPEN and team.seats_taken == 1 and joiner.state == SeatState.REFUNDED
    pay(join(team, people[2], gb_group).order, transport)
    pay(join(team, people[3], gb_group).order, transport)
    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 3


# --- Campaign limits -------------------------------------------------------------------------------------


def test_the_stock_cap_limits_what_the_campaign_sells(shop, gb_sku, people, gb_group):
    campaign = make_campaign(shop, gb_sku, stock_cap=2)
    open_team(campaign, people[0], gb_group)
    open_team(campaign, people[1], gb_group)
    with pytest.raises(ValidationError, match="名额已抢完"):
        open_team(campaign, people[2], gb_group)
    campaign.refresh_from_db()
    assert campaign.stock_used == 2


def test_a_cancelled_order_gives_its_unit_back_to_the_cap_once(shop, gb_sku, people, gb_group):
    campaign = make_campaign(shop, gb_sku, stock_cap=1)
    seat = open_team(campaign, people[0], gb_group)
    order_services.cancel_order(order=seat.order, by=people[0])
    assert not services.release_campaign_order(seat.order)  # already given back
    campaign.refresh_from_db()
    assert campaign.stock_used == 0
    open_team(campaign, people[1], gb_group)


def test_the_per_member_limit_counts_live_campaign_orders(shop, gb_sku, people, gb_group, transport):
    campaign = make_campaign(shop, gb_sku, per_member_limit=1, settings=_settings(team_size=2))
    seat = open_team(campaign, people[0], gb_group)
    pay(seat.order, transport)
    pay(join(seat.team, people[1], gb_group).order, transport)  # the team succeeded: people[0] is free again
    with pytest.raises(ValidationError, match="每人限参与 1 次"):
        open_team(campaign, people[0], gb_group)


def test_the_budget_caps_the_subsidy(shop, gb_sku, people, gb_group):
    campaign = make_campaign(shop, gb_sku, budget=Decimal("60.00"))  # 30.00 of subsidy per order
    open_team(campaign, people[0], gb_group)
    open_team(campaign, people[1], gb_group)
    with pytest.raises(ValidationError, match="预算已用完"):
        open_team(campaign, people[2], gb_group)


def test_a_member_outside_the_campaign_groups_cannot_buy(shop, gb_sku, people, gb_group):
    from tests.factories import GroupFactory

    elsewhere = GroupFactory(shop=shop)
    campaign = make_campaign(shop, gb_sku, all_groups=False, groups=[elsewhere])
    with pytest.raises(ValidationError, match="不在这个群"):
        open_team(campaign, people[0], gb_group)
    assert open_team(campaign, make_buyer(elsewhere), elsewhere)
