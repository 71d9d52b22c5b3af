"""Keeping what the recording code refuses (self-invites), for detection to read later."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import User

from ..fraud_models import SelfReferralAttempt


def record_self_referral_attempt(
    *,
    shop_id: int,
    user: User,
    action: str,
    link=None,
    ip: str | None = None,
    device: str = "",
    at: datetime | None = None,
) -> SelfReferralAttempt:
    """Keep a refused self-invite (opening or joining through one's own link, acting for oneself)."""
    return SelfReferralAttempt.objects.create(
        shop_id=shop_id,
        user=user,
        action=action[:16],
        link=link,
        ip_address=ip,
        device_id=(device or "")[:64],
        at=at or timezone.now(),
    )
