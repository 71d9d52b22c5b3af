"""请好友喝一杯 under real concurrent transactions: many friends claiming different treats at once never take
more than the campaign's stock cap nor spend more than its budget (each claim is two zero-price orders whose
units and subsidy are taken by the engine's conditional UPDATEs); a control shows that deciding from the
campaign row each request read gives away more than the cap and the budget."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.models import Campaign, CampaignOrder, Gift, GiftState
from campaigns.types.give import kind as giving
from orders.models import Order
from tests.builders.orders import make_buyer
from tests.campaigns.give_support import ADDRESS, give_campaign, giver_in, pickup_at
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
RACERS = 6  # six treats, each claimed by its own friend at the same moment; the item costs 25.00


def _scene(**caps):
    shop = ShopFactory()
    campaign = give_campaign(shop, settings={"mode": "treat"}, **caps)
    _point, at_pickup = pickup_at(shop)
    pairs = []
    for _ in range(RACERS):
        host, group = giver_in(shop)
        pairs.append((giving.start_treat(campaign=campaign, member=host, delivery=at_pickup), make_buyer(group)))
    return campaign, pairs


def _claim_all(pairs):
    return race(RACERS, lambda i: giving.claim_gift(gift=pairs[i][0], member=pairs[i][1], delivery=ADDRESS))


def _live(campaign) -> tuple[int, Decimal]:
    rows = CampaignOrder.objects.filter(campaign=campaign, released_at__isnull=True)
    return sum(r.units for r in rows), sum((r.subsidy for r in rows), Decimal("0.00"))


def _outcome(results, pairs):
    claimed = [r for r in results if isinstance(r, Gift)]
    refused = [r for r in results if not isinstance(r, Gift)]
    still_open = Gift.objects.filter(pk__in=[g.pk for g, _f in pairs], state=GiftState.OPEN).count()
    return claimed, refused, still_open


def test_treats_claimed_at_once_at_the_stock_cap_give_away_exactly_the_cap():
    campaign, pairs = _scene(stock_cap=4)  # two treats: two items each
    results = _claim_all(pairs)

    claimed, refused, still_open = _outcome(results, pairs)
    assert len(claimed) == 2 and still_open == RACERS - 2, results
    assert all(isinstance(r, ValidationError) and "名额" in str(r) for r in refused), refused
    campaign.refresh_from_db()
    assert campaign.stock_used == 4 and _live(campaign)[0] == 4
    assert Order.objects.filter(source__startswith=campaign.order_source).count() == 4
    assert all(o.total == 0 for o in Order.objects.all())


def test_treats_claimed_at_once_at_the_budget_spend_exactly_the_budget():
    campaign, pairs = _scene(budget=Decimal("100.00"))  # two treats: 2 × 2 × 25.00
    results = _claim_all(pairs)

    claimed, refused, still_open = _outcome(results, pairs)
    assert len(claimed) == 2 and still_open == RACERS - 2, results
    assert all(isinstance(r, ValidationError) and "预算" in str(r) for r in refused), refused
    campaign.refresh_from_db()
    assert campaign.budget_used == Decimal("100.00") == _live(campaign)[1]
    assert Order.objects.count() == 4


def _decide_from_the_read(monkeypatch):
    """The naive guard: every claim reads the campaign first (a gate holds them until all have), then
    decides the cap and the budget from that read and writes the read plus its own share."""
    gate = Gate(RACERS)
    read = giving.claim_problem

    def read_then_wait(gift, member, *, now):
        problem = read(gift, member, now=now)
        gate.wait()
        return problem

    def take_from_the_read(campaign, quantity, subsidy):
        if campaign.stock_cap is not None and campaign.stock_used + quantity > campaign.stock_cap:
            raise ValidationError("活动名额已抢完。")
        if campaign.budget is not None and campaign.budget_used + subsidy > campaign.budget:
            raise ValidationError("活动预算已用完。")
        campaign.stock_used += quantity
        campaign.budget_used += subsidy
        Campaign.objects.filter(pk=campaign.pk).update(stock_used=campaign.stock_used, budget_used=campaign.budget_used)

    monkeypatch.setattr(giving, "claim_problem", read_then_wait)
    monkeypatch.setattr(services, "_take_from_caps", take_from_the_read)


def test_control_a_cap_decided_from_the_read_gives_away_more_than_the_cap(monkeypatch):
    campaign, pairs = _scene(stock_cap=4)
    _decide_from_the_read(monkeypatch)
    results = _claim_all(pairs)

    claimed, _refused, _open = _outcome(results, pairs)
    assert len(claimed) > 2, results
    assert _live(Campaign.objects.get(pk=campaign.pk))[0] > 4  # more items given than the cap


def test_control_a_budget_decided_from_the_read_spends_more_than_the_budget(monkeypatch):
    campaign, pairs = _scene(budget=Decimal("100.00"))
    _decide_from_the_read(monkeypatch)
    results = _claim_all(pairs)

    claimed, _refused, _open = _outcome(results, pairs)
    assert len(claimed) > 2, results
    assert _live(Campaign.objects.get(pk=campaign.pk))[1] > Decimal("100.00")  # more subsidy than the budget
