"""A campaign's counters (stock_used, budget_used) are kept only under a cap: orders of an uncapped campaign
never write its row, and a first cap set later starts from what the campaign's orders hold."""

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import services
from campaigns.models import Campaign
from campaigns.selectors import campaign_usage
from orders import services as order_services
from tests.builders.campaigns import make_campaign, open_team
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, SkuFactory
from tests.race import Gate, race


def campaign_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "campaigns_campaign"')]


@pytest.mark.django_db
def test_an_uncapped_campaign_row_is_never_written_by_its_orders(campaign, people, gb_group):
    with CaptureQueriesContext(connection) as queries:
        seat = open_team(campaign, people[0], gb_group)
    assert campaign_writes(queries) == []
    assert campaign_usage(Campaign.objects.get(pk=campaign.pk)) == (1, Decimal("30.00"))
    with CaptureQueriesContext(connection) as queries:
        order_services.cancel_order(order=seat.order, by=people[0])
    assert campaign_writes(queries) == []
    assert campaign_usage(Campaign.objects.get(pk=campaign.pk)) == (0, Decimal("0.00"))


@pytest.mark.django_db
def test_a_capped_campaign_keeps_its_counters(shop, gb_sku, people, gb_group):
    campaign = make_campaign(shop, gb_sku, stock_cap=5)
    with CaptureQueriesContext(connection) as queries:
        open_team(campaign, people[0], gb_group)
    assert len(campaign_writes(queries)) == 1  # the units and the subsidy, in one conditional UPDATE
    campaign.refresh_from_db()
    assert (campaign.stock_used, campaign.budget_used) == (1, Decimal("30.00"))


@pytest.mark.django_db
def test_a_first_cap_starts_from_what_the_orders_hold(shop, campaign, people, gb_group, owner):
    open_team(campaign, people[0], gb_group)
    open_team(campaign, people[1], gb_group)
    with pytest.raises(ValidationError, match="已占用 2 件"):
        services.update_campaign(campaign=campaign, by=owner, stock_cap=1)
    services.update_campaign(campaign=campaign, by=owner, stock_cap=3, budget=Decimal("100.00"))
    campaign.refresh_from_db()
    assert (campaign.stock_used, campaign.budget_used) == (2, Decimal("60.00"))
    open_team(campaign, people[2], gb_group)
    with pytest.raises(ValidationError, match="名额已抢完"):
        open_team(campaign, people[3], gb_group)


@pytest.mark.django_db
def test_the_dashboard_shows_what_an_uncapped_campaign_holds(operator_client, shop, campaign, people, gb_group):
    from django.urls import reverse

    open_team(campaign, people[0], gb_group)
    html = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()
    assert "已用 1 · 不限" in html and "已用 ¥30.00 · 不限" in html


# --- An operator setting a first cap while orders of the uncapped campaign are in flight ---------------

RACERS = 6


@pytest.fixture
def race_scene():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50))
    buyers = [make_buyer(group) for _ in range(RACERS - 1)]
    return campaign, group, buyers, OperatorFactory(shop=shop).user


def _race_with_a_first_cap(race_scene, monkeypatch, checked_caps):
    """RACERS-1 orders pass their cap check, then the operator sets a cap of 100 while they are still in
    flight (each sleeps before going on). Returns the campaign's counter and what its orders hold."""
    campaign, group, buyers, operator = race_scene
    gate = Gate(RACERS)

    def check_then_linger(campaign):
        capped = checked_caps(campaign)
        gate.wait()
        time.sleep(0.3)  # the operator's edit goes first, if nothing makes it wait
        return capped

    monkeypatch.setattr(services, "_capped_now", check_then_linger)

    def act(i):
        if i == 0:
            gate.wait()
            return services.update_campaign(campaign=campaign, by=operator, stock_cap=100)
        return open_team(campaign, buyers[i - 1], group, key=f"race-{i}")

    results = race(RACERS, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    campaign.refresh_from_db()
    assert campaign.stock_cap == 100
    held = sum(campaign.campaign_orders.filter(released_at__isnull=True).values_list("units", flat=True))
    return campaign.stock_used, held


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_a_first_cap_set_during_orders_counts_every_one_of_them(race_scene, monkeypatch):
    used, held = _race_with_a_first_cap(race_scene, monkeypatch, services._capped_now)
    assert used == held == RACERS - 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_control_without_the_share_lock_the_first_cap_miscounts(race_scene, monkeypatch):
    """The same race with the cap read without its FOR KEY SHARE lock: the edit does not wait for the orders
    in flight and counts none of them, so the cap would let the campaign sell past it."""

    def read_without_lock(campaign):
        row = Campaign.objects.filter(pk=campaign.pk).values("stock_cap", "budget").first()
        return row["stock_cap"] is not None or row["budget"] is not None

    used, held = _race_with_a_first_cap(race_scene, monkeypatch, read_without_lock)
    assert used < held
