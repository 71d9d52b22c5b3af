"""Reads for notifications. Members read through `for_member` functions (their own inbox only),
operators through functions that take the shop. A miss is a 404."""

import time

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from shequn import hooks
from shequn.outboxes import FAILURE_WINDOW, OutboxFigures
from shops.models import Shop

from .models import Delivery, DeliveryState, Notification, NotificationState

# --- Members ---------------------------------------------------------------------------------------


def inbox_for_member(user, *, unread_only: bool = False) -> QuerySet[Notification]:
    """What the member has received (sent notifications), newest first, across shops."""
    qs = (
        Notification.objects.filter(user=user, state=NotificationState.SENT)
        .select_related("shop")
        .order_by("-sent_at", "-pk")
    )
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_for_member(user, pk: int) -> Notification:
    return get_object_or_404(inbox_for_member(user), pk=pk)


# The inbox badge is on every member page: its COUNT is cached per member under a version that every change
# of the member's unread notifications replaces on commit (forget_unread_count). A count computed before a
# change is stored under the old version, which nobody reads again, so the badge is exact after each change;
# with Redis down every read counts in the database.
BADGE_SECONDS = 600
BADGE_VERSION_SECONDS = 86400  # longer than BADGE_SECONDS: a count outlives no version it was stored under


def _badge_version_key(user_id: int) -> str:
    return f"notifications:unread-version:{user_id}"


def unread_count_for_member(user) -> int:
    version = cache.get(_badge_version_key(user.pk)) or 0
    key = f"notifications:unread:{user.pk}:{version}"
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user=user, state=NotificationState.SENT, read_at__isnull=True).count()
        cache.set(key, count, BADGE_SECONDS)
    return count


def forget_unread_count(user_ids) -> None:
    """The members' unread notifications change in this transaction: their badges are counted afresh, now
    and again once it commits (a reader between the two may have cached the count from before the change)."""
    keys = {_badge_version_key(user_id) for user_id in user_ids}

    def new_versions() -> None:
        cache.set_many(dict.fromkeys(keys, time.time_ns()), BADGE_VERSION_SECONDS)

    if keys:
        new_versions()
        transaction.on_commit(new_versions, robust=True)


def shops_for_member(user) -> QuerySet[Shop]:
    """Shops whose messages the member may set preferences for: the shops they belong to (the
    member_shop_ties hook: groups answers with the shops where they are, or ask to be, in a group), and
    those that have written to them."""
    wrote = Notification.objects.filter(shop=OuterRef("pk"), user=user)
    belongs = Q()
    for tie in hooks.member_shop_ties.answers(user):
        belongs |= Q(tie)
    return Shop.objects.filter(belongs | Q(Exists(wrote))).order_by("name", "pk")


def shop_for_member(user, pk: int) -> Shop:
    return get_object_or_404(shops_for_member(user), pk=pk)


# --- Operators -------------------------------------------------------------------------------------


def notifications_for_shop(
    shop: Shop, *, state: str | None = None, category: str | None = None, failed_only: bool = False
) -> QuerySet[Notification]:
    """The operator's list: a constant number of queries whatever the number of rows."""
    qs = (
        Notification.objects.filter(shop=shop)
        .select_related("user")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )
    if state:
        qs = qs.filter(state=state)
    if category:
        qs = qs.filter(category=category)
    if failed_only:
        qs = qs.filter(Exists(Delivery.objects.filter(notification=OuterRef("pk"), state=DeliveryState.FAILED)))
    return qs


def failed_count_for_shop(shop: Shop) -> int:
    return Delivery.objects.filter(notification__shop=shop, state=DeliveryState.FAILED).count()


def delivery_for_shop(shop: Shop, pk: int) -> Delivery:
    return get_object_or_404(Delivery.objects.select_related("notification"), notification__shop=shop, pk=pk)


# --- The outbox, for the jobs page and /healthz (shequn.outboxes) ----------------------------------


def outboxes(*, shop_id: int | None, now) -> list:
    """The notification outbox, for the jobs page and /healthz (the outboxes hook, connected in apps.py)."""
    return [("notifications", _("消息通知：站内信、短信、微信、邮件"), outbox_figures(shop_id=shop_id, now=now))]


def outbox_figures(*, shop_id: int | None, now):
    """Notifications due for release and deliveries still to send: 3 queries. A delivery counts as given
    up when it failed for good (after its retries, or refused at once) within the last 24 hours."""
    notifications = Notification.objects.filter(state=NotificationState.PENDING).order_by()
    deliveries = Delivery.objects.order_by()
    if shop_id is not None:
        notifications = notifications.filter(shop_id=shop_id)
        deliveries = deliveries.filter(notification__shop_id=shop_id)
    to_release = notifications.aggregate(
        pending=Count("pk"),
        due=Count("pk", filter=Q(deliver_after__lte=now)),
        oldest=Min("deliver_after", filter=Q(deliver_after__lte=now)),
    )
    open_ = Q(state__in=[DeliveryState.QUEUED, DeliveryState.SENDING])
    due = Q(state=DeliveryState.QUEUED, deliver_after__lte=now) | Q(state=DeliveryState.SENDING, lease_until__lte=now)
    to_send = deliveries.aggregate(
        pending=Count("pk", filter=open_),
        due=Count("pk", filter=due),
        oldest=Min("deliver_after", filter=due),
        retrying=Count("pk", filter=open_ & ~Q(last_error="")),
        failed_24h=Count("pk", filter=Q(state=DeliveryState.FAILED, last_attempt_at__gte=now - FAILURE_WINDOW)),
    )
    failing = deliveries.exclude(state=DeliveryState.SENT).exclude(last_error="")
    last = failing.order_by(F("last_attempt_at").desc(nulls_last=True), "-pk").first()
    oldest = [at for at in (to_release["oldest"], to_send["oldest"]) if at is not None]
    return OutboxFigures(
        pending=to_release["pending"] + to_send["pending"],
        due=to_release["due"] + to_send["due"],
        oldest_due_at=min(oldest) if oldest else None,
        retrying=to_send["retrying"],
        failed_24h=to_send["failed_24h"],
        last_error=last.last_error if last else "",
        last_error_at=last.last_attempt_at if last else None,
    )
