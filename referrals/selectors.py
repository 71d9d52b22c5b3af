"""Reads for referrals. Operator reads take the shop; member reads take the member. A miss is a 404.

Leaderboards and fraud review read events through `live_events` (voided events never appear there).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import User
from groups.models import Group, GroupSeries
from shops.models import Shop

from .models import (
    ZERO,
    CommissionAccount,
    EventKind,
    PointsAccount,
    ReferralEdge,
    ReferralEvent,
    Reward,
    RewardRule,
    WithdrawalRequest,
)

# --- Events ------------------------------------------------------------------------------------------


def live_events(
    *,
    shop: Shop | int | None = None,
    kinds=None,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign_id: int | None = None,
    group_id: int | None = None,
    series_id: int | None = None,
) -> QuerySet[ReferralEvent]:
    """Events that count (not voided), oldest first (ties: by id), optionally narrowed. Iterate with
    `.iterator(chunk_size=…)` for a rebuild: the order is stable, so ranks built from it are too."""
    qs = ReferralEvent.objects.filter(voided_at__isnull=True)
    if shop is not None:
        qs = qs.filter(shop=shop)
    if kinds:
        qs = qs.filter(kind__in=[kinds] if isinstance(kinds, str) else list(kinds))
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    if series_id is not None:
        qs = qs.filter(series_id=series_id)
    return qs.order_by("occurred_at", "pk")


def events_of_member(shop: Shop, member: User) -> QuerySet[ReferralEvent]:
    """Every event a member is part of in the shop (credited to them or done by them), voided ones too."""
    return (
        ReferralEvent.objects.filter(shop=shop)
        .filter(Q(inviter=member) | Q(invitee=member))
        .select_related("inviter", "invitee", "group", "order", "voided_by")
        .order_by("-occurred_at", "-pk")
    )


# --- Edges and trees ---------------------------------------------------------------------------------


def edges_for_shop(
    shop: Shop, *, q: str | None = None, qualified: bool | None = None, current_only: bool = False
) -> QuerySet[ReferralEdge]:
    qs = (
        ReferralEdge.objects.filter(shop=shop)
        .select_related("invitee", "inviter", "group", "link", "qualifying_order")
        .order_by("-created_at", "-pk")
    )
    if q:
        qs = qs.filter(
            Q(invitee__display_name__icontains=q)
            | Q(inviter__display_name__icontains=q)
            | Q(invitee__phone__contains=q)
            | Q(inviter__phone__contains=q)
        )
    if qualified is not None:
        qs = qs.filter(qualified_at__isnull=not qualified)
    if current_only:
        qs = qs.filter(superseded_at__isnull=True)
    return qs


def member_for_shop(shop: Shop, user_id: int) -> User:
    """A person the shop knows (a member of one of its groups, or in one of its referrals); else 404."""
    user = (
        User.objects.filter(pk=user_id)
        .filter(Q(memberships__group__shop=shop) | Q(referral_edges__shop=shop) | Q(referred_by_edges__shop=shop))
        .distinct()
        .first()
    )
    if user is None:
        raise Http404
    return user


def current_edge(shop_id: int, invitee_id: int) -> ReferralEdge | None:
    return (
        ReferralEdge.objects.filter(shop_id=shop_id, invitee_id=invitee_id, superseded_at__isnull=True)
        .select_related("inviter")
        .first()
    )


@dataclass
class TreeNode:
    edge: ReferralEdge
    children: list["TreeNode"] = field(default_factory=list)

    @property
    def person(self) -> User:
        return self.edge.invitee


def referral_tree(
    member: User, *, shop: Shop | int | None = None, depth: int = 2, limit: int | None = None
) -> list[TreeNode]:
    """Who `member` brought (their edges, moved-away ones too, marked superseded; the newest `limit` of
    them when given) and, `depth` levels down, whom those brought (current edges). One query per level,
    whatever the number of people."""
    shop_id = shop.pk if isinstance(shop, Shop) else shop
    first = ReferralEdge.objects.filter(inviter=member)
    if shop_id is not None:
        first = first.filter(shop_id=shop_id)
    first = first.select_related("invitee", "group", "shop", "qualifying_order").order_by("-created_at", "-pk")
    roots = [TreeNode(edge) for edge in (first[:limit] if limit is not None else first)]
    level = [n for n in roots if n.edge.superseded_at is None]
    for _ in range(depth - 1):
        if not level:
            break
        by_parent = {(n.edge.shop_id, n.edge.invitee_id): n for n in level}
        wanted = Q(pk__in=[])
        for shop_key, person_ids in _group_ids(by_parent).items():
            wanted |= Q(shop_id=shop_key, inviter_id__in=person_ids)
        children = (
            ReferralEdge.objects.filter(wanted, superseded_at__isnull=True)
            .select_related("invitee", "group", "shop", "qualifying_order")
            .order_by("-created_at", "-pk")
        )
        level = []
        for edge in children:
            node = TreeNode(edge)
            by_parent[(edge.shop_id, edge.inviter_id)].children.append(node)
            level.append(node)
    return roots


def _group_ids(by_parent: dict) -> dict[int, list[int]]:
    grouped = defaultdict(list)
    for shop_id, person_id in by_parent:
        grouped[shop_id].append(person_id)
    return grouped


# --- Viral coefficient -------------------------------------------------------------------------------


@dataclass
class ViralRow:
    """Invites sent (opens of invite links) → joins brought → second-generation joins (joins brought
    by those joiners, anywhere in the shop). K = second-generation joins / joins."""

    key: object
    label: str
    invites: int = 0
    joins: int = 0
    second_gen: int = 0

    @property
    def coefficient(self) -> Decimal | None:
        return (Decimal(self.second_gen) / self.joins).quantize(Decimal("0.01")) if self.joins else None

    @property
    def conversion(self) -> Decimal | None:
        return (Decimal(self.joins) * 100 / self.invites).quantize(Decimal("0.1")) if self.invites else None


SCOPES = {"group": "group_id", "series": "series_id", "campaign": "campaign_id"}


def viral_table(shop: Shop, by: str = "group") -> list[ViralRow]:
    """The viral funnel per group, series or campaign of the shop, from live events: three queries."""
    column = SCOPES[by]
    events = live_events(shop=shop).order_by().filter(**{f"{column}__isnull": False})
    brought = (
        ReferralEvent.objects.filter(
            shop=shop, kind=EventKind.JOINED, voided_at__isnull=True, inviter_id=OuterRef("invitee_id")
        )
        .order_by()
        .values("inviter_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    joins = (
        events.filter(kind=EventKind.JOINED)
        .values(column)
        .annotate(joins=Count("pk"), second=Sum(Coalesce(Subquery(brought, output_field=IntegerField()), Value(0))))
    )
    opens = events.filter(kind=EventKind.LINK_OPENED).values(column).annotate(invites=Count("pk"))
    rows: dict[object, ViralRow] = {}
    for row in opens:
        rows.setdefault(row[column], ViralRow(row[column], "")).invites = row["invites"]
    for row in joins:
        target = rows.setdefault(row[column], ViralRow(row[column], ""))
        target.joins, target.second_gen = row["joins"], row["second"] or 0
    _label(rows, by, shop)
    return sorted(rows.values(), key=lambda r: (-r.joins, -r.invites, str(r.label)))


def viral_stats(
    shop: Shop, *, group_id: int | None = None, series_id: int | None = None, campaign_id: int | None = None
) -> ViralRow:
    """The viral funnel of one group, series or campaign (or the whole shop when none is given)."""
    if group_id is not None:
        by, key = "group", group_id
    elif series_id is not None:
        by, key = "series", series_id
    elif campaign_id is not None:
        by, key = "campaign", campaign_id
    else:
        return _shop_viral(shop)
    found = [row for row in viral_table(shop, by) if row.key == key]
    return found[0] if found else ViralRow(key, "")


def _shop_viral(shop: Shop) -> ViralRow:
    events = live_events(shop=shop).order_by()
    joined = events.filter(kind=EventKind.JOINED)
    return ViralRow(
        None,
        shop.name,
        invites=events.filter(kind=EventKind.LINK_OPENED).count(),
        joins=joined.count(),
        second_gen=joined.filter(inviter_id__in=joined.values("invitee_id")).count(),
    )


def _label(rows: dict, by: str, shop: Shop) -> None:
    if by == "campaign":
        for row in rows.values():
            row.label = f"#{row.key}"
        return
    model = Group if by == "group" else GroupSeries
    names = dict(model.objects.filter(shop=shop, pk__in=list(rows)).values_list("pk", "name"))
    for row in rows.values():
        row.label = names.get(row.key, f"#{row.key}")


# --- Rewards, commission, withdrawals -----------------------------------------------------------------


def reward_rules_for_shop(shop: Shop) -> QuerySet[RewardRule]:
    return RewardRule.objects.filter(shop=shop).order_by("-is_active", "kind", "-created_at", "-pk")


def rewards_for_shop(shop: Shop, *, status: str | None = None, inviter_id: int | None = None) -> QuerySet[Reward]:
    qs = (
        Reward.objects.filter(shop=shop)
        .select_related("inviter", "invitee", "order", "rule")
        .order_by("-created_at", "-pk")
    )
    if status:
        qs = qs.filter(status=status)
    if inviter_id:
        qs = qs.filter(inviter_id=inviter_id)
    return qs


def rewards_for_member(member: User) -> QuerySet[Reward]:
    return (
        Reward.objects.filter(inviter=member).select_related("shop", "invitee", "order").order_by("-created_at", "-pk")
    )


def reward_totals(rewards: QuerySet[Reward]) -> dict:
    """Sums per (kind, status) of a reward list, e.g. {("points", "granted"): Decimal("30.00")}."""
    return {
        (r["kind"], r["status"]): r["total"]
        for r in rewards.order_by().values("kind", "status").annotate(total=Coalesce(Sum("amount"), ZERO))
    }


def commission_accounts_for_member(member: User) -> QuerySet[CommissionAccount]:
    return CommissionAccount.objects.filter(member=member).select_related("shop").order_by("shop__name", "pk")


def points_accounts_for_member(member: User) -> QuerySet[PointsAccount]:
    """The member's points in each shop where they ever had some, with the shop's rate (one query)."""
    return (
        PointsAccount.objects.filter(member=member)
        .select_related("shop", "shop__referral_settings")
        .order_by("shop__name", "pk")
    )


def withdrawals_for_member(member: User) -> QuerySet[WithdrawalRequest]:
    return WithdrawalRequest.objects.filter(member=member).select_related("shop").order_by("-requested_at", "-pk")


def withdrawal_for_member(member: User, pk: int) -> WithdrawalRequest:
    return get_object_or_404(WithdrawalRequest.objects.select_related("shop"), member=member, pk=pk)


def withdrawals_for_shop(shop: Shop, *, status: str | None = None) -> QuerySet[WithdrawalRequest]:
    qs = (
        WithdrawalRequest.objects.filter(shop=shop)
        .select_related("member", "decided_by", "paid_by")
        .annotate(
            balance=Coalesce(
                Subquery(CommissionAccount.objects.filter(shop=shop, member=OuterRef("member")).values("balance")[:1]),
                ZERO,
            )
        )
        .order_by("-requested_at", "-pk")
    )
    return qs.filter(status=status) if status else qs


def withdrawal_for_shop(shop: Shop, pk: int) -> WithdrawalRequest:
    return get_object_or_404(WithdrawalRequest.objects.select_related("member"), shop=shop, pk=pk)


def commission_summary(shop: Shop) -> dict:
    """Money the shop owes: balances not yet asked for, and withdrawals waiting to be paid."""
    owed = CommissionAccount.objects.filter(shop=shop).aggregate(t=Coalesce(Sum("balance"), ZERO))["t"]
    waiting = WithdrawalRequest.objects.filter(shop=shop, status__in=["requested", "approved"]).aggregate(
        t=Coalesce(Sum("amount"), ZERO)
    )["t"]
    return {"balances": owed, "withdrawals_open": waiting}


def invitee_counts(member: User) -> dict[int, dict]:
    """Per shop: how many people the member brought (current edges) and how many of them qualified."""
    rows = (
        ReferralEdge.objects.filter(inviter=member, superseded_at__isnull=True)
        .order_by()
        .values("shop_id")
        .annotate(brought=Count("pk"), qualified=Count("pk", filter=Q(qualified_at__isnull=False)))
    )
    return {r["shop_id"]: r for r in rows}


def invitees_of(member: User) -> QuerySet[ReferralEdge]:
    """Everyone the member brought (moved-away ones too), each with how many people they brought in turn."""
    second = (
        ReferralEdge.objects.filter(
            shop_id=OuterRef("shop_id"), inviter_id=OuterRef("invitee_id"), superseded_at__isnull=True
        )
        .order_by()
        .values("inviter_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        ReferralEdge.objects.filter(inviter=member)
        .select_related("invitee", "shop", "group")
        .annotate(brought=Coalesce(Subquery(second, output_field=IntegerField()), Value(0)))
        .order_by("-created_at", "-pk")
    )
