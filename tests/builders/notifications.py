"""Notifications written through notify(), and the local times tests deliver them at.

Commercial messages depend on the time of day (quiet hours 21:00–09:00), so tests that deliver them
pass an explicit `now` in the future: rows written at the real "now" are due then, whatever the hour.
"""

import itertools
from datetime import datetime, time, timedelta

from django.utils import timezone

from notifications.models import Category
from notifications.services import notify

_keys = itertools.count()


def at_local(hour: int, minute: int = 0, *, days: int = 1) -> datetime:
    """Today + `days` at hh:mm in Asia/Shanghai (after every row a test writes now)."""
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def noon() -> datetime:
    return at_local(12)


def write(shop, user, category=Category.MARKETING, key=None, **fields):
    """notify() with defaults; returns what notify returns."""
    return notify(
        shop=shop,
        user=user,
        category=category,
        kind=fields.pop("kind", f"{category}_test"),
        key=key or f"test:{next(_keys)}",
        title=fields.pop("title", "本周新品"),
        body=fields.pop("body", "新到的有机小米，群内专享。"),
        url=fields.pop("url", "/m/orders/"),
        **fields,
    )
