"""Writes for notifications: the outbox, the rules that gate commercial messages, and delivery.

Guarantees:
- `notify` writes in the caller's transaction: the notification exists if and only if the event
  committed (an outbox). One notification per key, however often the caller runs.
- A worker releases due notifications (claimed with SKIP LOCKED) and sends due deliveries (claimed
  with SKIP LOCKED under a lease). A crash between the commit and the delivery loses nothing: the
  periodic job finds the row. A delivery is claimed only while queued, so a redelivered task sends
  nothing twice (a crash in the middle of a claimed chunk may resend what it had sent once the lease
  runs out: providers get the delivery's key to deduplicate on).
- Commercial messages (marketing, reminders, campaign news) are decided at send time, under a lock
  on the member's preference row for the shop: not to a member who opted out of the category or has
  an open after-sales case; never in the member's quiet hours (held until the window ends); at most
  the shop's cap per rolling 24 hours and 7 days (one over the cap is dropped as "capped", visibly).
  Transactional messages are never capped, held or suppressed.
- A failing delivery is retried with exponential backoff and jitter; after MAX_ATTEMPTS it is FAILED
  and listed for the operator, never dropped in silence.
"""

import logging
import random
import time as monotonic_time
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from shequn import hooks, kicks
from shops import audit

from .channels import ChannelBackend, OutgoingMessage, PermanentError, backend_for, channels_for
from .models import (
    COMMERCIAL,
    Category,
    Channel,
    Delivery,
    DeliveryState,
    HoldReason,
    Notification,
    NotificationSettings,
    NotificationState,
    Preference,
    WechatFallback,
)
from .selectors import forget_unread_count

logger = logging.getLogger("shequn.notifications")

NS, DS = NotificationState, DeliveryState
DAY, WEEK = timedelta(days=1), timedelta(days=7)
# A worker owns the deliveries it claimed for LEASE; it claims CLAIM_CHUNK at a time, so the lease outlasts
# their sends (a provider call times out after channels.SEND_TIMEOUT_SECONDS: 25 × 10 s < 5 minutes).
LEASE = timedelta(minutes=5)
CLAIM_CHUNK = 25
RELEASE_BATCH = 100  # due notifications decided per transaction
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_MAX = timedelta(hours=1)


def _ids(values) -> RawSQL:
    """A big id list for `__in` as one array parameter (Django would prepare each element: a cost per
    member that showed in the reminder fan-out's profile)."""
    return RawSQL("SELECT unnest(%s::bigint[])", [list(values)])


def max_attempts() -> int:
    return getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 8)


# --- The outbox ------------------------------------------------------------------------------------


def notify(
    *, shop, user, category: str, kind: str, key: str, title: str, body: str, url: str = ""
) -> Notification | None:
    """Write a notification in the caller's transaction (outbox); workers deliver it after commit.

    `category` is a Category value (transactional is never capped); `kind` a short machine name;
    `key` is unique per notification: a second call with the same key writes nothing and returns None.
    """
    if category not in Category.values:
        raise ValueError(f"unknown notification category {category!r}")
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise ValueError("a notification key has 1–200 characters")
    try:
        with transaction.atomic():  # a savepoint: a duplicate key must not break the caller's transaction
            notification = Notification.objects.create(
                shop_id=getattr(shop, "pk", shop),
                user_id=getattr(user, "pk", user),
                category=category,
                kind=kind[:40],
                key=key,
                title=title[:100],
                body=body[:1000],
                url=url[:500],
            )
    except IntegrityError:
        if Notification.objects.filter(key=key).exists():
            return None
        raise
    _kick_after_commit()
    return notification


@dataclass(frozen=True)
class Outgoing:
    """One notification for notify_many (the arguments of notify)."""

    shop_id: int
    user_id: int
    category: str
    kind: str
    key: str
    title: str
    body: str
    url: str = ""


def notify_many(items: list[Outgoing], *, now: datetime | None = None) -> dict[str, int]:
    """notify for a batch, in the caller's transaction, with one INSERT … ON CONFLICT (key) DO NOTHING.

    Returns {key: notification id} for the notifications written now: a key written before (or twice in
    the batch) is left out, as notify returns None for it. One kick after commit, as notify.
    """
    if not items:
        return {}
    for item in items:
        if item.category not in Category.values:
            raise ValueError(f"unknown notification category {item.category!r}")
        if not item.key.strip() or len(item.key.strip()) > 200:
            raise ValueError("a notification key has 1–200 characters")
    now = now or timezone.now()
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (shop_id, user_id, category, kind, key, title, body, url, state, reason, "
            "deliver_after, created_at) "
            "SELECT s, u, c, k, y, t, b, l, %s, '', %s, %s "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::text[]) AS i(s, u, c, k, y, t, b, l) "
            "ON CONFLICT (key) DO NOTHING RETURNING key, id",
            [
                NS.PENDING,
                now,
                now,
                [i.shop_id for i in items],
                [i.user_id for i in items],
                [str(i.category) for i in items],
                [i.kind[:40] for i in items],
                [i.key.strip() for i in items],
                [i.title[:100] for i in items],
                [i.body[:1000] for i in items],
                [i.url[:500] for i in items],
            ],
        )
        written = dict(cursor.fetchall())
    if written:
        _kick_after_commit()
    return written


def _kick() -> None:
    kicks.kick("notifications.tasks.deliver_notifications")  # by name: the task calls this module


def _kick_after_commit() -> None:
    """Ask a worker to deliver once the caller commits; once per transaction, however many notifications.

    Only a latency shortcut: if the kick is lost (crash, broker down), the periodic job delivers.
    """
    if connection.in_atomic_block and any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick, robust=True)


# --- Preferences and the shop's rules ---------------------------------------------------------------


def preferences_for(user, shop) -> Preference:
    """The member's preferences for the shop (an unsaved default when they never chose)."""
    user_id, shop_id = getattr(user, "pk", user), getattr(shop, "pk", shop)
    found = Preference.objects.filter(user_id=user_id, shop_id=shop_id).first()
    return found or Preference(user_id=user_id, shop_id=shop_id)


def settings_for(shop) -> NotificationSettings:
    """The shop's cap and default quiet hours (an unsaved default when the shop never changed them)."""
    shop_id = getattr(shop, "pk", shop)
    return NotificationSettings.objects.filter(shop_id=shop_id).first() or NotificationSettings(shop_id=shop_id)


def quiet_hours(preference: Preference, shop_settings: NotificationSettings) -> tuple[time, time]:
    if preference.quiet_start is not None and preference.quiet_end is not None:
        return preference.quiet_start, preference.quiet_end
    return shop_settings.quiet_start, shop_settings.quiet_end


def quiet_until(at: datetime, start: time, end: time) -> datetime | None:
    """If `at` falls in the daily window [start, end) (Asia/Shanghai), the moment the window ends.

    A window may wrap midnight (21:00–09:00). start == end means no quiet hours.
    """
    if start == end:
        return None
    local = timezone.localtime(at, timezone.get_default_timezone())
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def commercial_sent(user_id: int, shop_id: int, at: datetime) -> tuple[int, int]:
    """Commercial messages the shop sent the member in the 24 hours and the 7 days before `at`."""
    counts = Notification.objects.filter(
        user_id=user_id,
        shop_id=shop_id,
        state=NS.SENT,
        category__in=COMMERCIAL,
        sent_at__gt=at - WEEK,
        sent_at__lte=at,
    ).aggregate(day=Count("pk", filter=Q(sent_at__gt=at - DAY)), week=Count("pk"))
    return counts["day"], counts["week"]


def is_capped(user_id: int, shop_id: int, at: datetime, shop_settings: NotificationSettings) -> bool:
    day, week = commercial_sent(user_id, shop_id, at)
    return day >= shop_settings.daily_cap or week >= shop_settings.weekly_cap


def may_market(user, shop, at: datetime | None = None, *, category: str = Category.MARKETING) -> bool:
    """Whether a commercial message to the member would go out now: not opted out of the category,
    not capped, no open after-sales case. (Quiet hours only delay it.) The send-time check decides."""
    at = at or timezone.now()
    user_id, shop_id = getattr(user, "pk", user), getattr(shop, "pk", shop)
    if not preferences_for(user_id, shop_id).receives(category):
        return False
    if _marketing_held(user_id, shop_id):
        return False
    return not is_capped(user_id, shop_id, at, settings_for(shop_id))


def held_among(user_ids, shop_id: int) -> set[int]:
    """Of the member ids, those an app above holds commercial messages from (marketing_held_among)."""
    held: set[int] = set()
    for answer in hooks.marketing_held_among.answers(members=list(user_ids), shop_id=shop_id):
        held |= set(answer or ())
    return held


def commercial_sent_among(user_ids, shop_id: int, at: datetime) -> dict[int, tuple[int, int]]:
    """commercial_sent for many members of one shop in one query: {user_id: (day, week)}, members with
    none left out."""
    rows = (
        Notification.objects.filter(
            user_id__in=_ids(user_ids),
            shop_id=shop_id,
            state=NS.SENT,
            category__in=COMMERCIAL,
            sent_at__gt=at - WEEK,
            sent_at__lte=at,
        )
        .values("user_id")
        .annotate(day=Count("pk", filter=Q(sent_at__gt=at - DAY)), week=Count("pk"))
        .order_by()
    )
    return {r["user_id"]: (r["day"], r["week"]) for r in rows}


def _over_cap(sent: tuple[int, int], shop_settings: NotificationSettings) -> bool:
    return sent[0] >= shop_settings.daily_cap or sent[1] >= shop_settings.weekly_cap


def marketing_eligibility(users, shop, at: datetime | None = None, *, category: str = Category.MARKETING) -> set[int]:
    """may_market for a whole batch: the ids of the members (users or ids) a commercial message of the
    category would go out to now. Exactly may_market's decision for each member, in at most four queries
    whatever the batch size (preferences, the marketing_held_among answers, the shop's settings, the cap
    counts); fewer when every member is already out."""
    at = at or timezone.now()
    shop_id = getattr(shop, "pk", shop)
    ids = sorted({getattr(u, "pk", u) for u in users})
    if not ids:
        return set()
    if category != Category.TRANSACTIONAL:
        if category not in Category.values:
            raise ValueError(f"unknown notification category {category!r}")
        out = set(
            Preference.objects.filter(shop_id=shop_id, user_id__in=_ids(ids), **{category: False}).values_list(
                "user_id", flat=True
            )
        )
        ids = [i for i in ids if i not in out]
        if not ids:
            return set()
    held = held_among(ids, shop_id)
    ids = [i for i in ids if i not in held]
    if not ids:
        return set()
    shop_settings = settings_for(shop_id)
    sent = commercial_sent_among(ids, shop_id, at)
    return {i for i in ids if not _over_cap(sent.get(i, (0, 0)), shop_settings)}


def update_preferences(
    *, user, shop, marketing: bool, reminder: bool, campaign: bool, quiet_start: time | None, quiet_end: time | None
) -> Preference:
    """Save the member's choices for a shop. Quiet hours: both times, or neither (the shop's default)."""
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationError({"quiet_end": _("请同时填写免打扰的开始和结束时间，或都留空。")})
    preference, _created = Preference.objects.update_or_create(  # (user, shop) is unique
        user_id=getattr(user, "pk", user),
        shop_id=getattr(shop, "pk", shop),
        defaults={
            "marketing": marketing,
            "reminder": reminder,
            "campaign": campaign,
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
        },
    )
    return preference


SETTINGS_FIELDS = ("daily_cap", "weekly_cap", "quiet_start", "quiet_end", "wechat_fallback")


@transaction.atomic
def update_settings(
    *,
    shop,
    by,
    daily_cap: int,
    weekly_cap: int,
    quiet_start: time,
    quiet_end: time,
    wechat_fallback: str = "",
) -> NotificationSettings:
    """Save the shop's rules; an empty `wechat_fallback` keeps the current choice."""
    errors = {}
    if not 1 <= daily_cap <= 10:
        errors["daily_cap"] = _("每日上限应在 1–10 之间。")
    if not 1 <= weekly_cap <= 30:
        errors["weekly_cap"] = _("每周上限应在 1–30 之间。")
    elif weekly_cap < daily_cap:
        errors["weekly_cap"] = _("每周上限不能小于每日上限。")
    current = settings_for(shop)
    before = {} if current._state.adding else audit.snapshot(current, SETTINGS_FIELDS)
    wechat_fallback = wechat_fallback or current.wechat_fallback
    if wechat_fallback not in WechatFallback.values:
        errors["wechat_fallback"] = _("请选择微信消息失败后的处理方式。")
    if errors:
        raise ValidationError(errors)
    shop_settings, _created = NotificationSettings.objects.update_or_create(
        shop_id=getattr(shop, "pk", shop),
        defaults={
            "daily_cap": daily_cap,
            "weekly_cap": weekly_cap,
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
            "wechat_fallback": wechat_fallback,
        },
    )
    audit.record(
        shop=shop_settings.shop_id,
        by=by,
        action="notifications.settings.update",
        target=shop_settings,
        before=before,
        after=audit.snapshot(shop_settings, SETTINGS_FIELDS),
        label=str(getattr(shop, "name", shop_settings.shop_id)),
    )
    return shop_settings


# --- Reading ---------------------------------------------------------------------------------------


def _opened(notifications) -> None:
    for notification in notifications:
        hooks.notification_first_read.run(notification)


def _marketing_held(user_id: int, shop_id: int) -> bool:
    """An app above may hold commercial messages to the member (orders: an open after-sales case)."""
    return any(hooks.marketing_held.answers(member=user_id, shop_id=shop_id))


def mark_read(*, notification: Notification, at: datetime | None = None) -> Notification:
    """Mark one of the member's notifications read (the first time only)."""
    if notification.read_at is None:
        at = at or timezone.now()
        with transaction.atomic():
            first = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=at) == 1
            notification.refresh_from_db(fields=["read_at"])
            if first:
                forget_unread_count([notification.user_id])
                _opened([notification])
    return notification


def mark_all_read(*, user) -> int:
    with transaction.atomic():
        unread = list(Notification.objects.select_for_update().filter(user=user, state=NS.SENT, read_at__isnull=True))
        now = timezone.now()
        Notification.objects.filter(pk__in=[n.pk for n in unread]).update(read_at=now)
        for notification in unread:
            notification.read_at = now
        forget_unread_count([user.pk])
        _opened(unread)
    return len(unread)


# --- Releasing: the rules, decided at send time ----------------------------------------------------


@dataclass
class RunReport:
    released: int = 0
    held: int = 0
    capped: int = 0
    suppressed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    more: bool = False  # stopped at the batch limit: there may be more to do
    errors: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return self.released + self.held + self.capped + self.suppressed + self.sent + self.retrying + self.failed


def _lock_members(pairs) -> dict[tuple[int, int], Preference]:
    """Serialize the decisions about these members of these shops: lock their preference rows (made if
    missing) until commit. Two statements whatever the batch: the missing rows inserted in one sorted
    INSERT … ON CONFLICT DO NOTHING, then every row locked in id order (two batches never deadlock)."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    Preference.objects.bulk_create([Preference(user_id=u, shop_id=s) for u, s in pairs], ignore_conflicts=True)
    locked = Preference.objects.raw(
        f"SELECT * FROM {Preference._meta.db_table} WHERE (user_id, shop_id) IN "
        "(SELECT * FROM unnest(%s::bigint[], %s::bigint[])) ORDER BY id FOR UPDATE",
        [[u for u, _s in pairs], [s for _u, s in pairs]],
    )
    return {(p.user_id, p.shop_id): p for p in locked}


def _cap_counts(pairs, at: datetime) -> dict[tuple[int, int], list[int]]:
    """Commercial messages sent in the 24 hours and 7 days before `at`, per (member, shop), in one statement.
    Run after _lock_members, in its own statement: it sees every message a batch that held the locks
    before us has released (READ COMMITTED takes a new snapshot per statement)."""
    rows = (
        Notification.objects.filter(
            user_id__in={u for u, _s in pairs},
            shop_id__in={s for _u, s in pairs},
            state=NS.SENT,
            category__in=COMMERCIAL,
            sent_at__gt=at - WEEK,
            sent_at__lte=at,
        )
        .values("user_id", "shop_id")
        .annotate(day=Count("pk", filter=Q(sent_at__gt=at - DAY)), week=Count("pk"))
        .order_by()
    )
    return {(r["user_id"], r["shop_id"]): [r["day"], r["week"]] for r in rows}


def _decide_batch(notifications: list[Notification], now: datetime) -> list[str]:
    """What happens to each due notification of a batch, in order. Runs inside the transaction that claimed
    them; a constant number of statements per batch (per shop for the after-sales answers): the members'
    locks, the cap counts, the shops' settings, then the writes grouped by outcome."""
    commercial = [n for n in notifications if n.category != Category.TRANSACTIONAL]
    pairs = {(n.user_id, n.shop_id) for n in commercial}
    preferences = _lock_members(pairs)
    counts = _cap_counts(pairs, now) if pairs else {}
    shops = {s for _u, s in pairs}
    held = {(u, s) for s in shops for u in held_among({u for u, t in pairs if t == s}, s)}
    shop_settings = {s.shop_id: s for s in NotificationSettings.objects.filter(shop_id__in=shops)} if shops else {}
    outcomes, released, dropped, waiting = [], [], {}, {}
    for n in notifications:
        member = (n.user_id, n.shop_id)
        if n.category == Category.TRANSACTIONAL:
            released.append(n)
            outcomes.append("released")
            continue
        rules = shop_settings.get(n.shop_id) or NotificationSettings(shop_id=n.shop_id)
        preference = preferences[member]
        if not preference.receives(n.category):
            dropped.setdefault((NS.SUPPRESSED, HoldReason.OPTED_OUT), []).append(n.pk)
            outcomes.append(NS.SUPPRESSED)
        elif member in held:
            dropped.setdefault((NS.SUPPRESSED, HoldReason.AFTER_SALES), []).append(n.pk)
            outcomes.append(NS.SUPPRESSED)
        elif (until := quiet_until(now, *quiet_hours(preference, rules))) is not None:
            waiting.setdefault(until, []).append(n.pk)
            outcomes.append("held")
        elif _over_cap(counts.setdefault(member, [0, 0]), rules):
            dropped.setdefault((NS.CAPPED, HoldReason.CAPPED), []).append(n.pk)
            outcomes.append(NS.CAPPED)
        else:
            counts[member][0] += 1  # released now: it counts against the next one in this batch
            counts[member][1] += 1
            released.append(n)
            outcomes.append("released")
    for (state, reason), ids in dropped.items():
        Notification.objects.filter(pk__in=ids).update(state=state, reason=reason)
    for until, ids in waiting.items():
        Notification.objects.filter(pk__in=ids).update(deliver_after=until, reason=HoldReason.QUIET_HOURS)
    _release(released, now)
    return outcomes


def _release(notifications: list[Notification], now: datetime) -> None:
    """Sent: in the members' inboxes now, and queued on every other channel that can reach them."""
    if not notifications:
        return
    Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(state=NS.SENT, sent_at=now, reason="")
    forget_unread_count({n.user_id for n in notifications})
    rows = []
    # The batch's backends and routes, looked up once: each lookup imports and builds a backend.
    backends: dict[str, ChannelBackend] = {}
    routes: dict[str, list[str]] = {}
    for notification in notifications:
        notification.state, notification.sent_at, notification.reason = NS.SENT, now, ""
        rows.append(
            Delivery(
                notification=notification,
                channel=Channel.INBOX,
                state=DS.SENT,
                attempts=1,
                sent_at=now,
                deliver_after=now,
                created_at=now,
            )
        )
        route = routes.get(notification.category)
        if route is None:
            route = routes[notification.category] = channels_for(notification.category)
        wechat_first = Channel.WECHAT in route and _reaches(Channel.WECHAT, notification.user, backends)
        for channel in route:
            if channel == Channel.SMS and wechat_first:
                continue  # SMS is WeChat's fallback (_fall_back), not sent beside it
            if _reaches(channel, notification.user, backends):
                rows.append(Delivery(notification=notification, channel=channel, deliver_after=now, created_at=now))
    Delivery.objects.bulk_create(rows)


def _reaches(channel: str, user, backends: dict[str, ChannelBackend] | None = None) -> bool:
    """A channel outside the site reaches a member it has an address for, never a demo account (their
    made-up phone numbers may be real people's): demo members read their messages in the inbox only.
    `backends` keeps the backends a batch has built (filled here)."""
    if user.is_demo:
        return False
    if backends is None:
        return backend_for(channel).can_reach(user)
    if channel not in backends:
        backends[channel] = backend_for(channel)
    return backends[channel].can_reach(user)


def _fall_back(delivery: Delivery) -> None:
    """A WeChat message failed for good: send it by SMS instead when the shop says so and SMS is one of
    this category's channels (no commercial SMS without consent); otherwise it stays in the inbox."""
    notification = delivery.notification
    if delivery.channel != Channel.WECHAT or Channel.SMS not in channels_for(notification.category):
        return
    if settings_for(notification.shop_id).wechat_fallback != WechatFallback.SMS:
        return
    if not _reaches(Channel.SMS, notification.user):
        return
    now = timezone.now()
    Delivery.objects.bulk_create(  # (notification, channel) is unique: a second fall-back adds nothing
        [Delivery(notification=notification, channel=Channel.SMS, deliver_after=now, created_at=now)],
        ignore_conflicts=True,
    )
    transaction.on_commit(_kick, robust=True)  # a worker sends it now, not at the next periodic pass


def release_due(
    *, now: datetime | None = None, limit: int = 500, batch: int = RELEASE_BATCH, report: RunReport | None = None
) -> RunReport:
    """Decide every due notification, `batch` per transaction, claimed with SKIP LOCKED."""
    report = report or RunReport()
    taken = 0
    while taken < limit:
        at = now or timezone.now()
        size = min(batch, limit - taken)
        with transaction.atomic():
            claimed = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(state=NS.PENDING, deliver_after__lte=at)
                .order_by("deliver_after", "pk")[:size]
            )
            outcomes = _decide_batch(claimed, at) if claimed else []
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        taken += len(claimed)
        if len(claimed) < size:
            return report
    report.more = True
    return report


# --- Sending ---------------------------------------------------------------------------------------


def backoff(attempt: int) -> timedelta:
    """Delay before retry number `attempt` (1, 2, …): exponential, capped, with jitter in [d/2, d]."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + ceiling / 2 * random.random()


def _claim_deliveries(now: datetime, limit: int) -> list[Delivery]:
    """Take up to `limit` due deliveries for this worker: queued ones whose time has come, and ones
    whose worker died mid-send (lease expired). SKIP LOCKED: two workers never take the same row."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(Q(state=DS.QUEUED, deliver_after__lte=now) | Q(state=DS.SENDING, lease_until__lte=now))
            .order_by("deliver_after", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(
            state=DS.SENDING, lease_until=now + LEASE, last_attempt_at=now, attempts=F("attempts") + 1
        )
    return list(
        Delivery.objects.filter(pk__in=ids).select_related("notification__user", "notification__shop").order_by("pk")
    )


def _absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def _message(delivery: Delivery) -> OutgoingMessage:
    n = delivery.notification
    return OutgoingMessage(
        key=delivery.key,
        user=n.user,
        shop_name=n.shop.name,
        category=n.category,
        kind=n.kind,
        title=n.title,
        body=n.body,
        url=_absolute(n.url),
        shop_id=n.shop_id,
    )


def _finish(delivery: Delivery, **fields) -> None:
    # Only if the claim is still ours: a worker whose lease ran out must not overwrite its successor.
    Delivery.objects.filter(pk=delivery.pk, state=DS.SENDING, attempts=delivery.attempts).update(
        lease_until=None, **fields
    )


def _send_one(delivery: Delivery, report: RunReport, backends: dict[str, ChannelBackend]) -> bool:
    """Send one claimed delivery; True when the provider took it (the caller marks it sent, in bulk).
    A failure is recorded here, one row at a time (failures are few). `backends` holds the run's backend
    per channel: a backend may build a provider client (an HTTP session, a token) that every send of the
    run can share."""
    if delivery.attempts > max_attempts():  # its worker died on the last attempt
        _finish(delivery, state=DS.FAILED, last_error=_("发送中断次数过多"))
        report.failed += 1
        return False
    try:
        if delivery.channel not in backends:
            backends[delivery.channel] = backend_for(delivery.channel)
        backends[delivery.channel].send(_message(delivery))
    except PermanentError as exc:
        _finish(delivery, state=DS.FAILED, last_error=str(exc)[:300])
        _fall_back(delivery)
        report.failed += 1
    except Exception as exc:  # any provider failure is retried or ends FAILED; it never stops the batch
        error = f"{type(exc).__name__}: {exc}"[:300]
        if delivery.attempts >= max_attempts():
            _finish(delivery, state=DS.FAILED, last_error=error)
            _fall_back(delivery)
            report.failed += 1
        else:
            _finish(
                delivery, state=DS.QUEUED, last_error=error, deliver_after=timezone.now() + backoff(delivery.attempts)
            )
            report.retrying += 1
        logger.warning("delivery %s attempt %s failed: %s", delivery.key, delivery.attempts, error)
    else:
        return True
    return False


def _finish_sent(deliveries: list[Delivery]) -> None:
    """Mark the chunk's sent deliveries in one UPDATE per claim count (one, nearly always): only rows
    whose claim is still ours, as _finish."""
    at = timezone.now()
    by_attempts: dict[int, list[int]] = {}
    for delivery in deliveries:
        by_attempts.setdefault(delivery.attempts, []).append(delivery.pk)
    for attempts, ids in by_attempts.items():
        Delivery.objects.filter(pk__in=ids, state=DS.SENDING, attempts=attempts).update(
            state=DS.SENT, sent_at=at, last_error="", lease_until=None
        )


def send_due(*, now: datetime | None = None, limit: int = 200, report: RunReport | None = None) -> RunReport:
    """Send every due delivery once. The provider calls run outside any transaction.

    Deliveries are claimed CLAIM_CHUNK at a time (SKIP LOCKED), so a claim's lease outlasts the sends it
    covers; the chunk's sent ones are then marked in one UPDATE.
    """
    report = report or RunReport()
    taken = 0
    backends: dict[str, ChannelBackend] = {}
    while taken < limit:
        chunk = min(CLAIM_CHUNK, limit - taken)
        claimed = _claim_deliveries(now or timezone.now(), chunk)
        sent = [delivery for delivery in claimed if _send_one(delivery, report, backends)]
        _finish_sent(sent)
        report.sent += len(sent)
        taken += len(claimed)
        if len(claimed) < chunk:
            return report
    report.more = True
    return report


def deliver_due(*, now: datetime | None = None, limit: int = 500, budget_seconds: float = 20) -> RunReport:
    """The worker's job (periodic, and kicked after each commit): release what is due, then send it.

    Works in batches for at most about `budget_seconds`; `more` says whether to run again at once.
    """
    report = RunReport()
    deadline = monotonic_time.monotonic() + budget_seconds
    while True:
        report.more = False
        release_due(now=now, limit=limit, report=report)
        send_due(now=now, limit=limit, report=report)
        if not report.more or monotonic_time.monotonic() > deadline:
            return report


RETRIED_FIELDS = ("state", "attempts", "last_error")


def retry_delivery(*, delivery: Delivery, by) -> Delivery:
    """An operator sends a failed delivery again, from zero attempts (the caller scoped it to the shop).
    The row is locked so that two retries at once make one change and one audit entry."""
    with transaction.atomic():
        current = Delivery.objects.select_for_update().select_related("notification").get(pk=delivery.pk)
        if current.state != DS.FAILED:
            raise ValidationError(_("只有发送失败的投递可以重试。"))
        before = audit.snapshot(current, RETRIED_FIELDS)
        current.state, current.attempts, current.deliver_after, current.last_error = DS.QUEUED, 0, timezone.now(), ""
        current.save(update_fields=[*RETRIED_FIELDS, "deliver_after"])
        audit.record(
            shop=current.notification.shop_id,
            by=by,
            action="notifications.delivery.retry",
            target=current,
            before=before,
            after=audit.snapshot(current, RETRIED_FIELDS),
        )
        transaction.on_commit(_kick, robust=True)
    return current
