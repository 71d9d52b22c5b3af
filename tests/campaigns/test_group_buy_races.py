"""The last seat of a team under real concurrent payments, with a control that shows the race without the
guard; the expiry job run concurrently with itself."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import SeatState, Team, TeamSeat, TeamState
from campaigns.types.group_buy import kind as group_buy
from orders.models import Payment, Refund
from orders.payments import Notification
from orders.services import process_notification, start_payment
from tests.builders.campaigns import join, make_campaign, open_team
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, ShopFactory, SkuFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
RACERS = 6


def _paid(payment: Payment) -> Notification:
    return Notification(
        provider=payment.provider,
        notification_id=uuid.uuid4().hex,
        kind="payment",
        provider_ref=payment.provider_ref,
        succeeded=True,
        amount=payment.amount,
        currency=payment.currency,
        raw={},
    )


@pytest.fixture
def scene():
    """A team of three whose leader has paid (two seats left) and six joiners about to pay."""
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, stock=50))
    leader = open_team(campaign, make_buyer(group), group)
    payment, _ = start_payment(order=leader.order)
    process_notification(_paid(payment))
    team = Team.objects.get(pk=leader.team_id)
    seats = [join(team, make_buyer(group), group) for _ in range(RACERS)]
    payments = [start_payment(order=seat.order)[0] for seat in seats]
    return team, payments


def test_racing_payments_fill_the_last_seats_exactly(scene):
    team, payments = scene
    results = race(RACERS, lambda i: process_notification(_paid(payments[i])))

    assert all(result == "paid" for result in results), results
    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 3
    seats = TeamSeat.objects.filter(team=team)
    assert seats.filter(state=SeatState.WON).count() == 3
    bounced = seats.filter(state=SeatState.BOUNCED)
    assert bounced.count() == RACERS - 2
    assert Refund.objects.filter(order__team_seat__in=bounced).count() == RACERS - 2  # each once


def test_control_check_then_act_seats_more_than_the_team_holds(scene, monkeypatch):
    """The same race with the conditional UPDATE replaced by read, wait, write."""
    team, payments = scene
    gate = Gate(RACERS)

    def check_then_act(team_id, *, now):
        seen = Team.objects.get(pk=team_id)
        gate.wait()  # every racer has looked before anyone writes
        if seen.state != TeamState.OPEN or seen.seats_taken >= seen.size:
            return None
        full = seen.seats_taken + 1 == seen.size
        Team.objects.filter(pk=team_id).update(
            seats_taken=seen.seats_taken + 1, state=TeamState.SUCCEEDED if full else seen.state
        )
        return Team.objects.get(pk=team_id)

    monkeypatch.setattr(group_buy, "_take_seat", check_then_act)
    race(RACERS, lambda i: process_notification(_paid(payments[i])))

    seated = TeamSeat.objects.filter(team=team, state__in=[SeatState.SEATED, SeatState.WON]).count()
    assert seated > 3  # more paid members than seats: the guard is what prevents it


def test_the_expiry_job_run_concurrently_refunds_each_order_once():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    campaign = make_campaign(
        shop,
        SkuFactory(product__shop=shop, stock=50),
        settings={"team_size": 5, "group_price": "29.90", "time_limit_minutes": 60},
    )
    orders = []
    for _ in range(3):
        leader = open_team(campaign, make_buyer(group), group)
        process_notification(_paid(start_payment(order=leader.order)[0]))
        joiner = join(Team.objects.get(pk=leader.team_id), make_buyer(group), group)
        process_notification(_paid(start_payment(order=joiner.order)[0]))
        orders += [leader.order_id, joiner.order_id]
    later = timezone.now() + timedelta(minutes=61)

    race(4, lambda i: group_buy.GroupBuy().expire_due(now=later))

    assert Team.objects.filter(state=TeamState.FAILED).count() == 3
    for order_id in orders:
        assert Refund.objects.filter(order_id=order_id).count() == 1


# --- The hot rows are the join's last writes ----------------------------------------------------------------


def _probe_no_key(model, pk: int) -> str:
    """From another connection, write the row's non-key columns without waiting (what an order's UPDATE of a
    campaign's counters needs): "free", or "locked: …". An order's FOR KEY SHARE read does not count."""
    import threading

    from django.db import OperationalError, connections, transaction
    from django.db.models import F

    outcome = ["probe hung"]

    def run():
        try:
            with transaction.atomic():
                model.objects.select_for_update(nowait=True, no_key=True).get(pk=pk)
                model.objects.filter(pk=pk).update(stock_used=F("stock_used"))
            outcome[0] = "free"
        except OperationalError as exc:
            outcome[0] = f"locked: {exc}"
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return outcome[0]


def _join_probing_the_hot_rows():
    """A join into a team of a capped campaign, probing the SKU and the campaign row while its campaign order
    and its seat are written, and once the join is done but not committed."""
    from django.db import transaction
    from django.db.models.signals import post_save

    from campaigns.models import Campaign, CampaignOrder
    from orders.models import Sku
    from tests.race import lock_elsewhere

    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, stock=50), stock_cap=40)
    team = Team.objects.get(pk=open_team(campaign, make_buyer(group), group).team_id)
    Team.objects.filter(pk=team.pk).update(state=TeamState.OPEN, expires_at=timezone.now() + timedelta(hours=1))
    joiner = make_buyer(group)
    seen = {}

    def probe(sender, instance, created, **kwargs):
        seen[sender.__name__] = (lock_elsewhere(Sku, campaign.sku_id), _probe_no_key(Campaign, campaign.pk))

    for model in (CampaignOrder, TeamSeat):
        post_save.connect(probe, sender=model, weak=False)
    try:
        with transaction.atomic():
            join(team, joiner, group)
            seen["joined"] = (lock_elsewhere(Sku, campaign.sku_id), _probe_no_key(Campaign, campaign.pk))
    finally:
        for model in (CampaignOrder, TeamSeat):
            post_save.disconnect(probe, sender=model)
    campaign.refresh_from_db()
    assert campaign.stock_used == 2 and Sku.objects.get(pk=campaign.sku_id).stock == 48
    return seen


def test_a_join_takes_the_sku_and_the_campaign_cap_last():
    """The campaign order and the seat are written with the SKU and the campaign row free; both are locked
    by the join's last statements and held from there to COMMIT."""
    seen = _join_probing_the_hot_rows()
    assert seen["CampaignOrder"] == ("free", "free"), seen
    assert seen["TeamSeat"] == ("free", "free"), seen
    assert all(probe.startswith("locked") for probe in seen["joined"]), seen


def test_control_hot_rows_written_at_once_are_held_under_the_seat(monkeypatch):
    """The same join with each hot-row write run where it is asked for: the seat is written under both."""
    from shequn import locks

    monkeypatch.setattr(locks, "take_last", lambda rank, write: write())
    seen = _join_probing_the_hot_rows()
    assert all(probe.startswith("locked") for probe in seen["TeamSeat"]), seen


# --- A newcomer's referral first order, under racing notifications ------------------------------------------


def test_racing_notifications_of_a_newcomers_join_make_one_first_order_and_one_reward():
    """The join binds the newcomer to the sharer as its payment lands and counts that order as their first:
    however many notifications of the payment race, one first order, one qualification, one reward."""
    from decimal import Decimal

    from groups.models import Channel
    from groups.services import join_via_link
    from referrals.models import EventKind, ReferralEvent, Reward, RewardKind
    from referrals.services import RewardRuleInput, save_reward_rule
    from tests.factories import InviteLinkFactory, UserFactory, shop_owner

    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    owner = shop_owner(shop)
    save_reward_rule(shop=shop, by=owner, data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100")))
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, stock=50))
    sharer = make_buyer(group)
    leader = open_team(campaign, sharer, group)
    process_notification(_paid(start_payment(order=leader.order)[0]))
    newcomer = UserFactory()  # came in by the shop's poster: nobody credited yet
    join_via_link(user=newcomer, code=InviteLinkFactory(group=group, inviter=owner, channel=Channel.POSTER).code)
    seat = join(Team.objects.get(pk=leader.team_id), newcomer, group, inviter=sharer)
    payment, _ = start_payment(order=seat.order)

    results = race(4, lambda i: process_notification(_paid(payment)))

    assert not [result for result in results if isinstance(result, Exception)], results
    events = ReferralEvent.objects.filter(invitee=newcomer)
    assert list(events.filter(kind=EventKind.FIRST_ORDER).values_list("order_id", "inviter_id")) == [
        (seat.order_id, sharer.pk)
    ]
    assert events.filter(kind=EventKind.QUALIFIED).count() == 1
    assert not events.filter(kind=EventKind.REPEAT_ORDER).exists()
    assert Reward.objects.filter(invitee=newcomer).count() == 1
