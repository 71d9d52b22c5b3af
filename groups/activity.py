"""Member activity: what members do in their groups, recorded so "last active" and lurkers are facts.

Any app records through `record_activity` (joins here in groups, orders through their hook, campaigns'
acts and check-ins, notifications' "message opened"): an append-only `MemberActivity` row plus the
membership's `last_active_at`, which only ever moves forward.
"""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from .models import ActivityKind, MemberActivity, Membership, MembershipStatus


def record_message_opened(notification) -> None:
    """A member opened a message of the shop: activity in each of their groups of that shop
    (the notification_first_read hook, connected in GroupsConfig.ready)."""
    group_ids = Membership.objects.filter(
        user_id=notification.user_id, group__shop_id=notification.shop_id, status=MembershipStatus.ACTIVE
    ).values_list("group_id", flat=True)
    for group_id in group_ids:
        record_activity(
            group_id=group_id,
            user_id=notification.user_id,
            kind=ActivityKind.MESSAGE_OPENED,
            ref=f"notification:{notification.pk}",
            at=notification.read_at,
        )


def record_activity(*, group_id: int, user_id: int, kind: str, ref: str = "", at: datetime | None = None) -> None:
    """Record that `user` did `kind` in the group at `at` (now by default), in the caller's transaction.

    `last_active_at` is moved by one conditional UPDATE, so a late or replayed event never moves it back.
    """
    if kind not in ActivityKind.values:
        raise ValueError(f"unknown activity kind {kind!r}")
    at = at or timezone.now()
    MemberActivity.objects.create(group_id=group_id, user_id=user_id, kind=kind, ref=ref[:60], at=at)
    (
        Membership.objects.filter(group_id=group_id, user_id=user_id, status=MembershipStatus.ACTIVE)
        .filter(Q(last_active_at__isnull=True) | Q(last_active_at__lt=at))
        .update(last_active_at=at)
    )
