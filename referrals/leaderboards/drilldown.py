"""Drill-down pages (platform admins, operators): a member's events (their tree is selectors.referral_tree)."""

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


def knows_member(*, shop_id: int, user_id: int) -> bool:
    """True if the member has any referral record in the shop (drill-down pages are a 404 otherwise)."""
    return (
        ReferralEvent.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
        or ReferralEdge.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
    )
