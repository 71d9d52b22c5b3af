"""Reads for segments: the shop's members with their facts, a segment's members, broadcasts. Scoped to a shop.

A shop's members are the people in one of its groups now (an active membership). Their facts come from
their paid orders in the shop, computed in the query (correlated subqueries on the orders' member index), so a
segment's count and list are live and cost one query each, whatever the segment:
- spent: paid minus refunded over the orders in a paid state; orders: how many such orders;
- last order: the latest payment of one; joined: the first join into one of the shop's groups.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from groups.models import Group, Membership, MembershipStatus, Tag
from orders.lifecycle import PAID_STATES
from orders.models import Order

from .models import Broadcast, BroadcastRecipient, MemberTag, Segment, TagRule

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _paid_orders(shop_id: int):
    return (
        Order.objects.filter(shop_id=shop_id, member=OuterRef("pk"), state__in=PAID_STATES).order_by().values("member")
    )


def spent_expr(shop_id: int):
    return Coalesce(
        Subquery(_paid_orders(shop_id).annotate(s=Sum(F("paid_amount") - F("refunded_amount"))).values("s")),
        Value(ZERO),
        output_field=MONEY,
    )


def orders_expr(shop_id: int):
    return Coalesce(
        Subquery(_paid_orders(shop_id).annotate(n=Count("pk")).values("n")), Value(0), output_field=IntegerField()
    )


def last_order_expr(shop_id: int):
    return Subquery(_paid_orders(shop_id).annotate(at=Max("paid_at")).values("at"))


def joined_expr(shop_id: int):
    return Subquery(
        Membership.objects.filter(user=OuterRef("pk"), group__shop_id=shop_id)
        .order_by()
        .values("user")
        .annotate(at=Min(Coalesce("first_joined_at", "joined_at")))
        .values("at")
    )


def in_shop(shop_id: int) -> Exists:
    return Exists(
        Membership.objects.filter(user=OuterRef("pk"), group__shop_id=shop_id, status=MembershipStatus.ACTIVE)
    )


def shop_members(shop_id: int) -> QuerySet[User]:
    """The shop's members now, each with `spent`, `order_count`, `last_order_at` and `joined_at`."""
    return User.objects.filter(in_shop(shop_id)).annotate(
        spent=spent_expr(shop_id),
        order_count=orders_expr(shop_id),
        last_order_at=last_order_expr(shop_id),
        joined_at=joined_expr(shop_id),
    )


def has_any_tag(shop_id: int, tag_ids) -> Q:
    """The member holds one of the tags: automatic (MemberTag), or set by hand on a membership in the shop."""
    tag_ids = list(tag_ids)
    return Q(Exists(MemberTag.objects.filter(user=OuterRef("pk"), tag_id__in=tag_ids))) | Q(
        Exists(
            Membership.objects.filter(
                user=OuterRef("pk"), group__shop_id=shop_id, status=MembershipStatus.ACTIVE, tags__in=tag_ids
            )
        )
    )


def filter_members(members: QuerySet[User], segment: Segment, *, now: datetime | None = None) -> QuerySet[User]:
    """The members a segment's filter keeps (members from shop_members, annotated)."""
    now = now or timezone.now()
    shop_id = segment.shop_id
    tag_ids = [t.pk for t in segment.tags.all()] if segment.pk else []
    exclude_ids = [t.pk for t in segment.exclude_tags.all()] if segment.pk else []
    group_ids = [g.pk for g in segment.groups.all()] if segment.pk else []
    return apply_filter(
        members,
        shop_id,
        tag_ids=tag_ids,
        exclude_tag_ids=exclude_ids,
        group_ids=group_ids,
        fields={f: getattr(segment, f) for f in FACT_FIELDS},
        now=now,
    )


FACT_FIELDS = (
    "min_spent",
    "max_spent",
    "min_orders",
    "max_orders",
    "ordered_within_days",
    "not_ordered_for_days",
    "joined_within_days",
    "joined_before_days",
)


def apply_filter(members, shop_id: int, *, tag_ids, exclude_tag_ids, group_ids, fields: dict, now: datetime):
    """The filter itself, from plain values (a saved segment, or a form's values before saving)."""
    if tag_ids:
        members = members.filter(has_any_tag(shop_id, tag_ids))
    if exclude_tag_ids:
        members = members.exclude(has_any_tag(shop_id, exclude_tag_ids))
    if group_ids:
        members = members.filter(
            Exists(
                Membership.objects.filter(
                    user=OuterRef("pk"), group_id__in=group_ids, group__shop_id=shop_id, status=MembershipStatus.ACTIVE
                )
            )
        )
    if fields.get("min_spent") is not None:
        members = members.filter(spent__gte=fields["min_spent"])
    if fields.get("max_spent") is not None:
        members = members.filter(spent__lte=fields["max_spent"])
    if fields.get("min_orders") is not None:
        members = members.filter(order_count__gte=fields["min_orders"])
    if fields.get("max_orders") is not None:
        members = members.filter(order_count__lte=fields["max_orders"])
    if fields.get("ordered_within_days"):
        members = members.filter(last_order_at__gte=now - timedelta(days=fields["ordered_within_days"]))
    if fields.get("not_ordered_for_days"):
        cutoff = now - timedelta(days=fields["not_ordered_for_days"])
        members = members.filter(Q(last_order_at__lt=cutoff) | Q(last_order_at__isnull=True))
    if fields.get("joined_within_days"):
        members = members.filter(joined_at__gte=now - timedelta(days=fields["joined_within_days"]))
    if fields.get("joined_before_days"):
        members = members.filter(joined_at__lt=now - timedelta(days=fields["joined_before_days"]))
    return members


def segment_members(segment: Segment, *, now: datetime | None = None) -> QuerySet[User]:
    """A segment's members now, with their facts, ordered by spend (the biggest first)."""
    return filter_members(shop_members(segment.shop_id), segment, now=now).order_by("-spent", "pk")


def segment_member_ids(segment: Segment, *, now: datetime | None = None) -> list[int]:
    return list(segment_members(segment, now=now).order_by("pk").values_list("pk", flat=True))


def group_member_ids(group: Group) -> list[int]:
    return list(
        Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


# --- Scoped lookups (a miss is a 404) ------------------------------------------------------------------


def segments_for_shop(shop) -> QuerySet[Segment]:
    return Segment.objects.filter(shop=shop).prefetch_related("tags", "exclude_tags", "groups")


def segment_for_shop(shop, pk: int) -> Segment:
    found = segments_for_shop(shop).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def rules_for_shop(shop) -> QuerySet[TagRule]:
    return TagRule.objects.filter(shop=shop).select_related("tag", "product").order_by("pk")


def rule_for_shop(shop, pk: int) -> TagRule:
    found = rules_for_shop(shop).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def tags_for_shop(shop) -> QuerySet[Tag]:
    return Tag.objects.filter(shop=shop).order_by("name")


def broadcasts_for_shop(shop) -> QuerySet[Broadcast]:
    return Broadcast.objects.filter(shop=shop).select_related("group", "segment", "created_by", "sent_by")


def broadcast_for_shop(shop, pk: int) -> Broadcast:
    found = broadcasts_for_shop(shop).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def recipients_of(broadcast: Broadcast) -> QuerySet[BroadcastRecipient]:
    return broadcast.recipients.select_related("user").order_by("pk")


def segment_counts(segments: list[Segment], *, now: datetime | None = None) -> dict[int, int]:
    """Each segment's live member count, for a page of segments in one query (a UNION ALL of their counts)."""
    if not segments:
        return {}
    parts, params = [], []
    for segment in segments:
        sql, inner = segment_members(segment, now=now).order_by().values("pk").query.sql_with_params()
        parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) AS s{len(parts)}")
        params += [segment.pk, *inner]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return dict(cursor.fetchall())
