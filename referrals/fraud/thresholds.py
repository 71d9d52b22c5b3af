"""A shop's fraud thresholds (FraudSettings), made with the defaults on first use."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from shops import audit
from shops.models import Shop

from ..fraud_models import FraudSettings


def fraud_settings(shop_id: int) -> FraudSettings:
    """The shop's fraud thresholds, made with the defaults on first use."""
    found = FraudSettings.objects.filter(shop_id=shop_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return FraudSettings.objects.create(shop_id=shop_id)
    except IntegrityError:  # made by a concurrent request a moment ago
        return FraudSettings.objects.get(shop_id=shop_id)


SETTINGS_FIELDS = (
    "burst_limit_per_day",
    "young_account_minutes",
    "shared_window_minutes",
    "shared_device_limit",
    "shared_ip_limit",
    "dormant_after_days",
    "dormant_min_invitees",
    "decision_hours",
    "default_decision",
)


@transaction.atomic
def update_fraud_settings(*, shop: Shop, by: User, **fields) -> FraudSettings:
    """Change the shop's thresholds (validated by the model's field validators)."""
    current = fraud_settings(shop.pk)
    before = audit.snapshot(current, SETTINGS_FIELDS)
    for name in SETTINGS_FIELDS:
        if name in fields:
            setattr(current, name, fields[name])
    current.full_clean()
    current.save()
    audit.record(
        shop=shop,
        by=by,
        action="fraud.settings.update",
        target=current,
        before=before,
        after=audit.snapshot(current, SETTINGS_FIELDS),
        label=shop.name,
    )
    return current
