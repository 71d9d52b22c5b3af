"""Writes for referral tracking. Leaderboards and fraud review build on these edges later."""

from django.db import IntegrityError, transaction

from accounts.models import User

from .models import ReferralEdge


def record_join_edge(*, shop_id: int, invitee: User, inviter: User | None, link=None, group=None,
                     channel: str) -> ReferralEdge | None:
    """Record that `inviter` brought `invitee` to the shop; the first inviter wins, exactly once.

    Returns the new edge, or None for a self-invite or when the invitee already has an inviter
    in this shop (a retried or racing request included: the unique constraint decides).
    """
    if inviter is None or inviter.pk == invitee.pk:
        return None
    try:
        with transaction.atomic():  # savepoint: a lost race must not break the caller's transaction
            return ReferralEdge.objects.create(
                shop_id=shop_id, invitee=invitee, inviter=inviter, link=link, group=group, channel=channel
            )
    except IntegrityError:
        return None
