"""Shared set-up of the 打卡 tests: a running check-in campaign, members of its group, shop-time moments."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from campaigns.models import CampaignType
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_DAY = {
    "window_start": "00:00",
    "window_end": "24:00",
    "proof": "none",
    "milestones": "",
    "remind_before_minutes": 0,
}


def checkin_campaign(shop, *, settings=None, group=None, days_before=30, days_after=30, **fields):
    """A running check-in campaign of the shop (all day, no proof, no milestones unless `settings` says),
    from `days_before` days ago to `days_after` days ahead."""
    now = timezone.now()
    return make_campaign(
        shop,
        None,
        type=CampaignType.CHECKIN,
        name=fields.pop("name", "21 天护肤打卡"),
        settings={**ALL_DAY, **(settings or {})},
        starts_at=fields.pop("starts_at", now - timedelta(days=days_before)),
        ends_at=fields.pop("ends_at", now + timedelta(days=days_after)),
        **fields,
    )


def members_of(group, n):
    return [make_buyer(group) for _ in range(n)]


def a_group(shop):
    return GroupFactory(shop=shop)


def shop_moment(day: date, clock: str) -> datetime:
    """`day` at "HH:MM:SS" in Asia/Shanghai, aware."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=SHANGHAI)


def days_ago(n: int) -> date:
    return timezone.localtime(timezone.now(), SHANGHAI).date() - timedelta(days=n)


def png(size=(64, 48)) -> bytes:
    """A small real PNG (the image gate decodes what it stores)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, (200, 120, 90)).save(out, format="PNG")
    return out.getvalue()
