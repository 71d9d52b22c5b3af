"""Helpers for the leaderboard and fraud tests: record referral events through the recording path."""

import itertools
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from referrals import services
from referrals.models import EventKind

_keys = itertools.count()


def record(
    *,
    shop,
    inviter,
    invitee,
    kind=EventKind.CAMPAIGN_ACT,
    at: datetime | None = None,
    amount="0",
    group=None,
    campaign_id=None,
    key: str | None = None,
    ip=None,
    device="",
):
    """One event, inserted first under its unique key and announced to the hooks, as the services do."""
    return services._insert_event(
        shop_id=shop.pk,
        kind=kind,
        key=key or f"test:{kind}:{next(_keys)}",
        inviter=inviter,
        invitee=invitee,
        group=group,
        series_id=group.series_id if group else None,
        campaign_id=campaign_id,
        amount=Decimal(amount),
        occurred_at=at or timezone.now(),
        ip_address=ip,
        device_id=device,
    )


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A moment in March 2025, shop time."""
    return timezone.make_aware(datetime(2025, 3, day, hour, minute, second))
