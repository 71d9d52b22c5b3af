"""Shared set-up of the 送 赠送 tests: a running give campaign on a SKU, a giver in its group who has bought
and paid a gift, friends who sign in from the gift's link."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import CampaignType, Gift
from campaigns.types.give import kind as giving
from orders.services import DeliveryRequest
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer, pay
from tests.factories import GroupFactory, PickupPointFactory, SkuFactory, UserFactory

GIVE_SETTINGS = {"mode": "gift", "claim_days": 7, "on_expiry": "refund"}
ADDRESS = DeliveryRequest(
    method="shipping", recipient_name="李雷", recipient_phone="13900139000", address="杭州市西湖区文三路 9 号"
)


def give_campaign(shop, *, settings=None, **fields):
    sku = fields.pop("sku", None) or SkuFactory(product__shop=shop, price=Decimal("25.00"), stock=20)
    return make_campaign(
        shop,
        sku,
        type=CampaignType.GIVE,
        name=fields.pop("name", "买一杯送好友"),
        settings={**GIVE_SETTINGS, **(settings or {})},
        **fields,
    )


def giver_in(shop):
    group = GroupFactory(shop=shop)
    return make_buyer(group), group


def pickup_at(shop, name="望京店"):
    point = PickupPointFactory(shop=shop, name=name)
    return point, DeliveryRequest(
        method="pickup", recipient_name="韩梅梅", recipient_phone="13700137000", pickup_point_id=point.pk
    )


def paid_gift(campaign, giver, transport, *, message="生日快乐") -> Gift:
    order = giving.buy_gift(campaign=campaign, member=giver, idempotency_key=uuid.uuid4().hex, message=message)
    pay(order, transport)
    return Gift.objects.get(order=order)


def friend():
    return UserFactory(date_joined=timezone.now() - timedelta(days=30))


def past(gift: Gift) -> Gift:
    """Move the gift's time to claim into the past."""
    Gift.objects.filter(pk=gift.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    gift.refresh_from_db()
    return gift
