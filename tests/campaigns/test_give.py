"""送 赠送, buy one, give one: a paid gift becomes a link; a friend claims it once with a pickup point or an
address (the owed item joins the fulfilment queue, from the giver's order: one unit of stock, one order);
unclaimed, it is refunded to the giver (or returned to them) once; a gift order ships only once claimed."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import CampaignType, Gift, GiftState
from campaigns.types.give import kind as giving
from campaigns.types.give.kind import GiftRefused
from orders import services as order_services
from orders.models import Delivery, FulfilmentItem, FulfilmentState, Order, OrderState, Refund
from tests.builders.orders import deliver
from tests.campaigns.give_support import (
    ADDRESS,
    friend,
    give_campaign,
    giver_in,
    paid_gift,
    past,
    pickup_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def give(shop):
    return give_campaign(shop)


@pytest.fixture
def giver(shop):
    return giver_in(shop)[0]


def test_a_paid_gift_order_becomes_a_gift_with_an_unguessable_link(give, giver, transport):
    before = give.sku.stock
    gift = paid_gift(give, giver, transport, message="生日快乐")

    order = gift.order
    assert order.state == OrderState.PAID and order.delivery == Delivery.NONE and order.total == give.sku.price
    assert gift.state == GiftState.OPEN and gift.giver == giver and gift.message == "生日快乐"
    assert len(gift.token) >= 22  # 128 bits, url-safe
    assert timedelta(days=7) - (gift.expires_at - gift.created_at) < timedelta(seconds=1)
    give.sku.refresh_from_db()
    assert give.sku.stock == before - 1
    # After paying, the giver lands on the gift's card to forward it.
    assert giving.GiveKind().page_after_payment(order) == gift.get_absolute_url()


def test_a_payment_notified_twice_makes_one_gift(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    giving.GiveKind().after_paid(gift.order)
    assert Gift.objects.filter(order=gift.order).count() == 1


def test_a_friend_claims_with_a_pickup_point_and_the_item_joins_the_queue(shop, give, giver, transport):
    gift = paid_gift(give, giver, transport)
    point, at_pickup = pickup_at(shop)
    mate = friend()
    give.sku.refresh_from_db()
    stock = give.sku.stock

    claimed = giving.claim_gift(gift=gift, member=mate, delivery=at_pickup)

    assert claimed.state == GiftState.CLAIMED and claimed.recipient == mate and claimed.claimed_at is not None
    item = FulfilmentItem.objects.get(key=f"gift:{gift.pk}")
    assert (item.member, item.order, item.delivery, item.pickup_point) == (mate, gift.order, "pickup", point)
    assert item.state == FulfilmentState.OWED and item.shop == shop
    # The giver's unit is the friend's: no second order, no second unit of stock.
    give.sku.refresh_from_db()
    assert give.sku.stock == stock and Order.objects.filter(member=mate).count() == 0


def test_a_gift_is_claimed_once(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    first, second = friend(), friend()
    giving.claim_gift(gift=gift, member=first, delivery=ADDRESS)

    with pytest.raises(GiftRefused) as refused:
        giving.claim_gift(gift=gift, member=second, delivery=ADDRESS)
    assert refused.value.reason == "claimed"
    with pytest.raises(GiftRefused):
        giving.claim_gift(gift=gift, member=first, delivery=ADDRESS)
    assert FulfilmentItem.objects.filter(key=f"gift:{gift.pk}").count() == 1
    gift.refresh_from_db()
    assert gift.recipient == first


def test_nobody_claims_their_own_gift(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    with pytest.raises(GiftRefused) as refused:
        giving.claim_gift(gift=gift, member=giver, delivery=ADDRESS)
    assert refused.value.reason == "own_gift"
    gift.refresh_from_db()
    assert gift.state == GiftState.OPEN


def test_a_late_claim_is_refused(give, giver, transport):
    gift = past(paid_gift(give, giver, transport))
    with pytest.raises(GiftRefused) as refused:
        giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)
    assert refused.value.reason == "expired"


def test_a_claim_with_another_shops_pickup_point_is_refused(give, giver, transport, other_shop):
    gift = paid_gift(give, giver, transport)
    _point, elsewhere = pickup_at(other_shop)
    with pytest.raises(ValidationError):
        giving.claim_gift(gift=gift, member=friend(), delivery=elsewhere)
    gift.refresh_from_db()
    assert gift.state == GiftState.OPEN and not FulfilmentItem.objects.exists()


def test_an_unclaimed_gift_is_refunded_to_the_giver_once(give, giver, transport):
    gift = past(paid_gift(give, giver, transport))

    assert giving.expire_due_gifts() == 1
    assert giving.expire_due_gifts() == 0

    gift.refresh_from_db()
    assert gift.state == GiftState.REFUNDED and gift.closed_at is not None
    deliver(transport)
    order = Order.objects.get(pk=gift.order_id)
    assert order.state == OrderState.REFUNDED and order.refunded_amount == order.paid_amount
    assert Refund.objects.filter(order=order).count() == 1


def test_an_open_gift_in_time_is_not_expired(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    assert giving.expire_due_gifts() == 0
    gift.refresh_from_db()
    assert gift.state == GiftState.OPEN


def test_a_claimed_gift_is_never_refunded_by_the_job(give, giver, transport):
    gift = paid_gift(give, giver, transport)
    giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)
    past(gift)
    assert giving.expire_due_gifts() == 0
    assert not Refund.objects.exists()


def test_returned_to_the_giver_the_giver_claims_it_themself(shop, giver, transport):
    give = give_campaign(shop, settings={"on_expiry": "return"})
    gift = past(paid_gift(give, giver, transport))

    assert giving.expire_due_gifts() == 1
    gift.refresh_from_db()
    assert gift.state == GiftState.RETURNED and not Refund.objects.exists()
    with pytest.raises(GiftRefused):
        giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)

    claimed = giving.claim_gift(gift=gift, member=giver, delivery=ADDRESS)
    assert claimed.state == GiftState.CLAIMED and claimed.recipient == giver
    assert FulfilmentItem.objects.get(key=f"gift:{gift.pk}").member == giver


def test_a_gift_order_ships_only_once_claimed(give, giver, transport, owner):
    gift = paid_gift(give, giver, transport)
    with pytest.raises(ValidationError):
        order_services.ship_order(order=gift.order, by=owner)
    giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)
    shipped = order_services.ship_order(order=Order.objects.get(pk=gift.order_id), by=owner)
    assert shipped.state == OrderState.SHIPPED


def test_refunding_the_gift_order_withdraws_the_open_gift(give, giver, transport, owner):
    gift = paid_gift(give, giver, transport)
    order_services.refund_order(order=gift.order, by=owner, reason="不想送了")
    deliver(transport)
    gift.refresh_from_db()
    assert gift.state == GiftState.REFUNDED
    with pytest.raises(GiftRefused):
        giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)


def test_refunding_a_claimed_gift_voids_what_it_owed(give, giver, transport, owner):
    gift = paid_gift(give, giver, transport)
    giving.claim_gift(gift=gift, member=friend(), delivery=ADDRESS)
    order_services.refund_order(order=gift.order, by=owner, reason="缺货")
    deliver(transport)
    assert FulfilmentItem.objects.get(key=f"gift:{gift.pk}").state == FulfilmentState.VOID


def test_a_member_outside_the_campaigns_groups_cannot_buy(give):
    with pytest.raises(GiftRefused) as refused:
        giving.buy_gift(campaign=give, member=friend(), idempotency_key="k1")
    assert refused.value.reason == "not_member"


@pytest.mark.parametrize(
    "given, field",
    [
        ({"mode": "lottery"}, "mode"),
        ({"claim_days": "0"}, "claim_days"),
        ({"claim_days": "31"}, "claim_days"),
        ({"claim_days": "七"}, "claim_days"),
        ({"on_expiry": "keep"}, "on_expiry"),
    ],
)
def test_bad_settings_are_refused_by_field(shop, owner, given, field):
    from tests.factories import SkuFactory

    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        campaign_services.create_campaign(
            shop=shop,
            by=owner,
            type=CampaignType.GIVE,
            name="送",
            starts_at=now,
            ends_at=now + timedelta(days=3),
            sku=SkuFactory(product__shop=shop),
            settings={"mode": "gift", **given},
        )
    assert field in refused.value.message_dict
