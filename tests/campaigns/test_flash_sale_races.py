"""秒杀 under real concurrent transactions: the last flash-sale unit, one member's racing orders against the
per-member limit, and the sold-out flag raised and taken down between two rushes, never overselling; each
guard with a control that shows the race without it. And the first buyers at the start start it once."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignOrder, CampaignState
from campaigns.types.flash_sale import kind as flash_sale
from orders import services as order_services
from orders.models import Order, Sku
from tests.builders.campaigns import make_flash_sale
from tests.builders.orders import SHIPPING, make_buyer
from tests.factories import GroupFactory, ShopFactory, SkuFactory
from tests.race import Gate, lock_elsewhere, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
RACERS = 6


@pytest.fixture
def scene():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    sku = SkuFactory(product__shop=shop, price=Decimal("29.90"), stock=100)
    return shop, group, sku, [make_buyer(group) for _ in range(RACERS)]


def _buy_fresh(sale_pk, member, group, gate=None):
    """What a request does: read the campaign, then buy (after every racer has read it, with a gate)."""
    campaign = Campaign.objects.select_related("sku").get(pk=sale_pk)
    if gate is not None:
        gate.wait()
    return flash_sale.buy(
        campaign=campaign, member=member, group=group, delivery=SHIPPING, idempotency_key=uuid.uuid4().hex
    )


def _live_units(sale) -> int:
    return sum(CampaignOrder.objects.filter(campaign=sale, released_at__isnull=True).values_list("units", flat=True))


def test_racing_buyers_take_the_last_unit_exactly_once(scene):
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=1)
    gate = Gate(RACERS)
    results = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[i], group, gate))

    assert sum(isinstance(r, Order) for r in results) == 1, results
    assert all("活动名额已抢完" in str(r) for r in results if not isinstance(r, Order))
    sale.refresh_from_db()
    assert sale.stock_used == 1 == _live_units(sale)
    assert Sku.objects.get(pk=sku.pk).stock == 99
    assert flash_sale.is_flagged_sold_out(sale.pk) == sale.name


def test_control_a_cap_decided_from_the_read_sells_the_last_unit_many_times(scene, monkeypatch):
    """With the cap's conditional UPDATE replaced by a decision from the campaign each request read (and a
    write of that read plus one), every racer sells "the last unit": the UPDATE's condition is the guard."""
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=1)

    def decide_from_the_read(campaign, quantity, subsidy):
        if campaign.stock_used + quantity > campaign.stock_cap:
            raise ValidationError("活动名额已抢完。")
        Campaign.objects.filter(pk=campaign.pk).update(stock_used=campaign.stock_used + quantity)

    monkeypatch.setattr(services, "_take_from_caps", decide_from_the_read)
    gate = Gate(RACERS)
    results = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[i], group, gate))

    assert sum(isinstance(r, Order) for r in results) > 1, results
    assert _live_units(Campaign.objects.get(pk=sale.pk)) > 1  # oversold


def test_one_members_racing_orders_never_pass_the_limit(scene):
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=50, per_member_limit=2)
    results = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[0], group))

    assert sum(isinstance(r, Order) for r in results) == 2, results
    assert all("每人限参与 2 次" in str(r) for r in results if not isinstance(r, Order))
    assert Campaign.objects.get(pk=sale.pk).stock_used == 2


def test_control_without_the_member_lock_the_limit_is_passed(scene, monkeypatch):
    """With the (campaign, member) lock replaced by a gate every racer passes before any counts, the count is
    check-then-act and the member buys more than the limit: the lock is what keeps it."""
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=50, per_member_limit=2)
    gate = Gate(RACERS)
    monkeypatch.setattr(services, "_lock_member_in_campaign", lambda campaign_id, member_id: gate.wait())
    results = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[0], group))

    assert sum(isinstance(r, Order) for r in results) > 2, results


def test_sell_out_give_back_and_sell_out_again_never_oversell(scene):
    """A rush takes the 3 units and the flag goes up on commit; a cancel gives one back and takes the flag
    down on commit; the next rush takes exactly that one. The flag only refuses early: the UPDATE decides."""
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=3)
    first = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[i], group))
    won = [r for r in first if isinstance(r, Order)]
    assert len(won) == 3 and flash_sale.is_flagged_sold_out(sale.pk) is not None

    order_services.cancel_order(order=won[0], by=won[0].member, reason="不要了")
    assert flash_sale.is_flagged_sold_out(sale.pk) is None

    losers = [buyers[i] for i, r in enumerate(first) if not isinstance(r, Order)] + [won[0].member]
    second = race(len(losers), lambda i: _buy_fresh(sale.pk, losers[i], group))
    assert sum(isinstance(r, Order) for r in second) == 1, second
    sale.refresh_from_db()
    assert sale.stock_used == 3 == _live_units(sale) and Order.objects.count() == 4
    assert Sku.objects.get(pk=sku.pk).stock == 97
    assert flash_sale.is_flagged_sold_out(sale.pk) is not None


def test_the_first_buyers_at_the_start_start_it_once(scene):
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=50, starts_at=timezone.now() + timedelta(hours=1))
    Campaign.objects.filter(pk=sale.pk).update(starts_at=timezone.now() - timedelta(seconds=1))
    results = race(RACERS, lambda i: _buy_fresh(sale.pk, buyers[i], group))

    assert all(isinstance(r, Order) for r in results), results
    sale.refresh_from_db()
    assert sale.state == CampaignState.RUNNING and sale.stock_used == RACERS
    assert sale.transitions.filter(to_state=CampaignState.RUNNING).count() == 1


def test_the_caps_row_is_held_only_from_its_update_to_commit(scene, monkeypatch):
    """The cap is the order's last write: while the order's own rows are written (the campaign order's insert
    included) another transaction can still lock the campaign's row; right after the cap's UPDATE it cannot.
    The second probe is the control: it shows the probe sees a held row."""
    shop, group, sku, buyers = scene
    sale = make_flash_sale(shop, sku, stock_cap=5)
    seen = {}
    create, take = CampaignOrder.objects.create, services._take_from_caps

    def probe_then_create(**fields):
        seen["campaign order insert"] = lock_elsewhere(Campaign, sale.pk)
        return create(**fields)

    def take_then_probe(*args):
        take(*args)
        seen["after the cap's UPDATE"] = lock_elsewhere(Campaign, sale.pk)

    monkeypatch.setattr(CampaignOrder.objects, "create", probe_then_create)
    monkeypatch.setattr(services, "_take_from_caps", take_then_probe)
    order = _buy_fresh(sale.pk, buyers[0], group)

    assert seen["campaign order insert"] == "free", seen
    assert seen["after the cap's UPDATE"].startswith("locked"), seen
    assert isinstance(order, Order) and Campaign.objects.get(pk=sale.pk).stock_used == 1 == _live_units(sale)
