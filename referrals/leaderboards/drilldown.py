"""Drill-down pages (platform admins, operators): a member's events and whom they brought."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..models import ReferralEdge, ReferralEvent


def member_events(*, shop_id: int, user_id: int) -> QuerySet[ReferralEvent]:
    """A member's events in a shop, as inviter (credited) or invitee (acted), newest first."""
    return (
        ReferralEvent.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id)
        .select_related("inviter", "invitee", "group", "voided_by")
        .order_by("-occurred_at", "-pk")
    )


def referral_tree(*, shop_id: int, user_id: int, limit: int = 200) -> list[tuple[object, list]]:
    """Whom the member brought to the shop, and whom each of those brought: [(edge, [child edges])].

    Superseded edges are kept (a moved invitee stays on the original inviter's record). Two queries.
    """
    first = list(
        ReferralEdge.objects.filter(shop_id=shop_id, inviter_id=user_id)
        .select_related("invitee", "group")
        .order_by("created_at", "pk")[:limit]
    )
    children: dict[int, list] = {}
    for edge in (
        ReferralEdge.objects.filter(shop_id=shop_id, inviter_id__in=[e.invitee_id for e in first])
        .select_related("invitee")
        .order_by("created_at", "pk")
    ):
        children.setdefault(edge.inviter_id, []).append(edge)
    return [(edge, children.get(edge.invitee_id, [])) for edge in first]


def knows_member(*, shop_id: int, user_id: int) -> bool:
    """True if the member has any referral record in the shop (drill-down pages are a 404 otherwise)."""
    return (
        ReferralEvent.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
        or ReferralEdge.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
    )
