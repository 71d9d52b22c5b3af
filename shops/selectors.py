"""Reads for the shop's own pages: its audit log, scoped to the shop."""

from datetime import date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEntry, Shop


def audit_entries(
    shop: Shop,
    *,
    person: int | None = None,
    type: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """The shop's entries, newest first; `since` and `until` are days in the shop's time zone, both included."""
    entries = AuditEntry.objects.filter(shop=shop).select_related("target_type").order_by("-at", "-pk")
    if person:
        entries = entries.filter(actor_id=person)
    if type:
        entries = entries.filter(target_type_id=type)
    if since:
        entries = entries.filter(at__gte=_start_of(since))
    if until:
        entries = entries.filter(at__lt=_start_of(until + timedelta(days=1)))
    return entries


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_people(shop: Shop) -> list[tuple[int, str]]:
    """Everyone the shop's log names as the actor, by the name they had when they acted."""
    rows = (
        AuditEntry.objects.filter(shop=shop, actor__isnull=False)
        .values_list("actor_id", "actor_name")
        .order_by("actor_id", "-at")
        .distinct("actor_id")
    )
    return sorted(rows, key=lambda row: row[1])


def audit_types(shop: Shop) -> list[tuple[int, str]]:
    """The kinds of object the shop's log names, by their verbose name."""
    used = AuditEntry.objects.filter(shop=shop).values("target_type")
    types = [(ct.pk, ct.model_class()) for ct in ContentType.objects.filter(pk__in=used)]
    return sorted(((pk, str(model._meta.verbose_name)) for pk, model in types if model), key=lambda row: row[1])
