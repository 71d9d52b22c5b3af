"""Shared set-up of the 换物 tests: a running swap campaign, members of its group, listings and offers made
through the rules (campaigns/types/swap/kind.py)."""

from datetime import timedelta

from django.utils import timezone

from campaigns.models import CampaignType
from campaigns.types.swap import kind as swapping
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory

SETTINGS = {"listing_days": 30, "offer_hours": 72}


def swap_campaign(shop, *, settings=None, **fields):
    now = timezone.now()
    return make_campaign(
        shop,
        None,
        type=CampaignType.SWAP,
        name=fields.pop("name", "宝妈闲置换换乐"),
        settings={**SETTINGS, **(settings or {})},
        starts_at=fields.pop("starts_at", now - timedelta(days=1)),
        ends_at=fields.pop("ends_at", now + timedelta(days=30)),
        **fields,
    )


def a_group(shop, **fields):
    return GroupFactory(shop=shop, **fields)


def members_of(group, n):
    return [make_buyer(group) for _ in range(n)]


def listing(campaign, member, group, *, title="九成新婴儿推车", wanted="儿童绘本", price=None, **fields):
    return swapping.create_listing(
        campaign=campaign, member=member, group=group, title=title, wanted=wanted, price=price, **fields
    )


def offer(item, member, *, offered=None, price="50"):
    return swapping.make_offer(listing=item, member=member, offered_listing=offered, price=None if offered else price)


def png(size=(64, 48)) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, format="PNG")
    return out.getvalue()
