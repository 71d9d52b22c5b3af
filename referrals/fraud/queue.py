"""The review queue: a shop's or the platform's flags, and one flag's events."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from shops.models import Shop

from ..fraud_models import FlagStatus, FraudFlag
from ..models import ReferralEvent


def _queue(qs: QuerySet[FraudFlag], *, status: str | None, kind: str | None) -> QuerySet[FraudFlag]:
    qs = qs.select_related("shop", "member", "decided_by").annotate(event_count=Count("events"))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-status", "deadline", "pk") if not status else qs.order_by("deadline", "pk")


def flags_for_shop(shop: Shop, *, status: str | None = FlagStatus.OPEN, kind: str | None = None) -> QuerySet[FraudFlag]:
    return _queue(FraudFlag.objects.filter(shop=shop), status=status, kind=kind)


def flag_for_shop(shop: Shop, pk: int) -> FraudFlag:
    return get_object_or_404(FraudFlag.objects.select_related("shop", "member", "decided_by"), shop=shop, pk=pk)


def flags_for_platform(
    *, shop_id: int | None = None, status: str | None = FlagStatus.OPEN, kind: str | None = None
) -> QuerySet[FraudFlag]:
    qs = FraudFlag.objects.all()
    if shop_id:
        qs = qs.filter(shop_id=shop_id)
    return _queue(qs, status=status, kind=kind)


def flag_for_platform(pk: int) -> FraudFlag:
    return get_object_or_404(FraudFlag.objects.select_related("shop", "member", "decided_by"), pk=pk)


def flag_events(flag: FraudFlag) -> QuerySet[ReferralEvent]:
    return flag.events.select_related("inviter", "invitee", "group").order_by("occurred_at", "pk")
