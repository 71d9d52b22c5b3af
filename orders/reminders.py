"""Repeat-purchase reminders (复购提醒): due dates per member and product, and the reminders sent for them.

Rules (a friendly reminder near the end of the product's usage cycle, never a blast):
- A member's next purchase of a product is due at the last purchase + the product's usage cycle × the
  quantity bought. With two or more purchases, the member's own median interval between purchases is used
  instead (people are not average). Orders paid less than a day apart count as one purchase (two orders
  placed together are not a one-hour "interval").
- The due date lives in PostgreSQL, one `RepurchaseDue` row per (member, product), rewritten by the order
  hooks (after paid, after refund) in the payment's own transaction. No reminder is ever a delayed task.
- A short periodic job (`dispatch_due_reminders`) picks the rows due within the shop's lead days and hands
  them to batch tasks of at most BATCH_SIZE members (`send_reminder_batch`), never one task per member.
- One reminder per (member, product, cycle), whatever happens: the `RepurchaseReminder` row is inserted
  first under that unique key, in the same transaction as the notification (itself unique by key).
- Not sent when the member already re-ordered (an open or paid order after the last purchase), nor when
  notifications.marketing_eligibility (may_market for a whole batch) says no (opted out, capped, open
  after-sales): those rows wait and are tried again every RETRY_DEFERRED until LAPSE_AFTER past the due
  date. Quiet hours are the notification worker's.
"""

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.activity import record_activity
from groups.models import ActivityKind, AutomationSettings
from notifications.services import Outgoing, marketing_eligibility, notify_many
from shequn import hooks, kicks
from shequn.jobs import JobResult

from .lifecycle import PAID_STATES
from .models import (
    DueBasis,
    DueState,
    Order,
    OrderLine,
    OrderState,
    Product,
    RepurchaseDue,
    RepurchaseReminder,
)

BATCH_SIZE = 1000  # members per batch task
LOCK_CHUNK = 500  # due rows locked per transaction inside a batch (a constant number of statements each)
MAX_PER_RUN = 200_000  # due rows one dispatch run hands out; the rest wait for the next run
REQUEUE_AFTER = timedelta(minutes=30)  # a batch lost with its worker is handed out again after this
RETRY_DEFERRED = timedelta(hours=6)  # a member capped or opted out now is tried again after this
LAPSE_AFTER = timedelta(days=7)  # a reminder not sent this long after the due date is dropped
CONVERSION_WINDOW = timedelta(days=7)  # a re-order this soon after a reminder counts as its conversion
SAME_PURCHASE = timedelta(days=1)  # orders closer than this are one purchase occasion
DEFAULT_LEAD_DAYS = AutomationSettings._meta.get_field("reminder_lead_days").default
# Orders that mean "the member has bought (or is buying) again": open ones and paid ones.
REORDER_STATES = (OrderState.PENDING_PAYMENT, *PAID_STATES)


def _ids(values) -> RawSQL:
    """A big id list for `__in` as one array parameter (Django would prepare each element: a cost per
    member that showed in the reminder fan-out's profile)."""
    return RawSQL("SELECT unnest(%s::bigint[])", [list(values)])


# --- Due dates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    order_id: int
    group_id: int
    shop_id: int
    at: datetime
    quantity: int


@dataclass(frozen=True)
class Due:
    cycle: int  # the order the due date counts from
    group_id: int
    shop_id: int
    last_purchase_at: datetime
    last_quantity: int
    purchases: int
    interval: timedelta
    basis: str
    due_at: datetime


def occasions(purchases: Iterable[Purchase]) -> list[Purchase]:
    """Merge purchases less than SAME_PURCHASE after the previous one into one occasion (quantities added,
    time and order of the latest)."""
    merged: list[Purchase] = []
    for p in sorted(purchases, key=lambda p: (p.at, p.order_id)):
        if merged and p.at - merged[-1].at < SAME_PURCHASE:
            last = merged[-1]
            merged[-1] = Purchase(p.order_id, p.group_id, p.shop_id, p.at, last.quantity + p.quantity)
        else:
            merged.append(p)
    return merged


def compute_due(purchases: Iterable[Purchase], *, usage_cycle_days: int) -> Due | None:
    """The next due date from a member's paid purchases of one product (None when there are none).

    One purchase occasion: last purchase + usage cycle × quantity. Two or more: last purchase + the
    median of the member's own intervals between occasions.
    """
    merged = occasions(purchases)
    if not merged:
        return None
    last = merged[-1]
    if len(merged) >= 2:
        gaps = [(b.at - a.at).total_seconds() for a, b in zip(merged, merged[1:], strict=False)]
        interval, basis = timedelta(seconds=round(statistics.median(gaps))), DueBasis.MEDIAN
    else:
        interval, basis = timedelta(days=usage_cycle_days * last.quantity), DueBasis.CYCLE
    return Due(
        cycle=last.order_id,
        group_id=last.group_id,
        shop_id=last.shop_id,
        last_purchase_at=last.at,
        last_quantity=last.quantity,
        purchases=len(merged),
        interval=interval,
        basis=basis,
        due_at=last.at + interval,
    )


def paid_purchases(*, member_id: int, product_id: int) -> list[Purchase]:
    """The member's paid, not refunded purchases of the product, one per order."""
    rows = (
        OrderLine.objects.filter(order__member_id=member_id, product_id=product_id, order__state__in=PAID_STATES)
        .values("order_id", "order__group_id", "order__shop_id", "order__paid_at", "order__created_at")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    return [
        Purchase(
            r["order_id"],
            r["order__group_id"],
            r["order__shop_id"],
            r["order__paid_at"] or r["order__created_at"],
            r["quantity"],
        )
        for r in rows
    ]


@transaction.atomic
def refresh_due(*, member_id: int, product: Product) -> RepurchaseDue | None:
    """Rewrite the member's due date for the product from their purchases (in the caller's transaction).

    The row is created if missing, then locked, and only then are the purchases read: two payments of the
    same member and product at once are applied one after the other, the second seeing the first.
    A new cycle (a newer purchase) makes the row wait for its own reminder again.
    """
    due = compute_due(
        paid_purchases(member_id=member_id, product_id=product.pk), usage_cycle_days=product.usage_cycle_days
    )
    if due is not None:
        RepurchaseDue.objects.bulk_create([_new_row(member_id, product, due)], ignore_conflicts=True)
    row = RepurchaseDue.objects.select_for_update().filter(member_id=member_id, product=product).first()
    due = compute_due(
        paid_purchases(member_id=member_id, product_id=product.pk), usage_cycle_days=product.usage_cycle_days
    )
    if row is None:
        return None
    if due is None:  # every purchase was refunded: nothing is due
        row.delete()
        return None
    if row.cycle != due.cycle:
        row.state, row.not_before = DueState.WAITING, None
    for name in (
        "cycle",
        "group_id",
        "shop_id",
        "last_purchase_at",
        "last_quantity",
        "purchases",
        "interval",
        "basis",
        "due_at",
    ):
        setattr(row, name, getattr(due, name))
    row.save()
    return row


def _new_row(member_id: int, product: Product, due: Due) -> RepurchaseDue:
    return RepurchaseDue(
        member_id=member_id,
        product=product,
        shop_id=due.shop_id,
        group_id=due.group_id,
        cycle=due.cycle,
        last_purchase_at=due.last_purchase_at,
        last_quantity=due.last_quantity,
        purchases=due.purchases,
        interval=due.interval,
        basis=due.basis,
        due_at=due.due_at,
    )


class RepurchasePlugin:
    """Receivers of the order hooks: keep due dates current, count conversions, record the order activity."""

    def after_paid(self, order: Order) -> None:
        paid_at = order.paid_at or timezone.now()
        products = _products_of(order)
        for product in products:
            refresh_due(member_id=order.member_id, product=product)
        # The reminders this order answers: sent for these products in the week before it was paid.
        RepurchaseReminder.objects.filter(
            member_id=order.member_id,
            product__in=products,
            converted_order__isnull=True,
            sent_at__gte=paid_at - CONVERSION_WINDOW,
            sent_at__lte=paid_at,
        ).update(converted_order=order, converted_at=paid_at)
        record_activity(
            group_id=order.group_id,
            user_id=order.member_id,
            kind=ActivityKind.ORDER,
            ref=f"order:{order.pk}",
            at=paid_at,
        )

    def after_refund(self, order: Order) -> None:
        for product in _products_of(order):
            refresh_due(member_id=order.member_id, product=product)


def _products_of(order: Order) -> list[Product]:
    return list(Product.objects.filter(order_lines__order=order).distinct().order_by("pk"))


# --- Picking what is due and sending ---------------------------------------------------------------


def _within_lead(now: datetime) -> Q:
    """Due within each shop's lead days: one condition per distinct non-default setting, one for the rest."""
    custom: dict[int, list[int]] = {}
    for shop_id, days in AutomationSettings.objects.exclude(reminder_lead_days=DEFAULT_LEAD_DAYS).values_list(
        "shop_id", "reminder_lead_days"
    ):
        custom.setdefault(days, []).append(shop_id)
    all_custom = [shop_id for ids in custom.values() for shop_id in ids]
    condition = Q(due_at__lte=now + timedelta(days=DEFAULT_LEAD_DAYS)) & ~Q(shop_id__in=all_custom)
    for days, shop_ids in custom.items():
        condition |= Q(shop_id__in=shop_ids, due_at__lte=now + timedelta(days=days))
    return condition


def due_for_reminder(now: datetime):
    """The rows a dispatch run should hand out now (none handed out or deferred whose time has not come)."""
    return (
        RepurchaseDue.objects.filter(state=DueState.WAITING, due_at__gte=now - LAPSE_AFTER)
        .filter(_within_lead(now))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
    )


def dispatch_due_reminders(
    *,
    now: datetime | None = None,
    enqueue: Callable[[list[int]], object] | None = None,
    batch_size: int = BATCH_SIZE,
    result: JobResult | None = None,
) -> int:
    """Hand the rows due now to batch tasks of at most `batch_size` rows. Returns how many were handed out.

    Each batch is stamped `not_before` = now + REQUEUE_AFTER before it is enqueued: if the process dies in
    between, or the batch is lost with its worker, the rows are handed out again then (and sent once: see
    send_reminder_batch). Rows more than LAPSE_AFTER past their due date are dropped (state lapsed).
    """
    now = now or timezone.now()
    if enqueue is None:

        def enqueue(ids):
            return kicks.kick("orders.tasks.send_repurchase_reminders", ids)

    RepurchaseDue.objects.filter(state=DueState.WAITING, due_at__lt=now - LAPSE_AFTER).update(state=DueState.LAPSED)
    ids = list(due_for_reminder(now).order_by("pk").values_list("pk", flat=True)[:MAX_PER_RUN])
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        RepurchaseDue.objects.filter(pk__in=chunk).update(not_before=now + REQUEUE_AFTER)
        enqueue(chunk)
        if result is not None:
            result.count(n=len(chunk))
    return len(ids)


def send_reminder_batch(due_ids: list[int], *, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Send the reminders of one batch; returns how many were sent. Safe to run twice, or twice at once.

    Rows are claimed LOCK_CHUNK at a time with `FOR UPDATE SKIP LOCKED` and state "waiting": a racing worker
    skips what this one holds and finds it "reminded" afterwards. Each chunk costs a constant number of
    statements: the claim, the re-order check, notifications.marketing_eligibility per shop, one INSERT of
    the reminder rows under their unique (member, product, cycle) key with ON CONFLICT DO NOTHING, one
    INSERT of the notifications for the reminders actually inserted (never one for a reminder written
    before), and the updates of the reminder and due rows — all in one transaction.
    """
    now = now or timezone.now()
    sent = 0
    for start in range(0, len(due_ids), LOCK_CHUNK):
        chunk = due_ids[start : start + LOCK_CHUNK]
        with transaction.atomic():
            rows = _claim(chunk, now)
            if not rows:
                continue
            reordered = _reordered_since(rows)
            already = _reminded(rows)
            waiting: list[RepurchaseDue] = []
            done = [row.pk for row in rows if (row.member_id, row.product_id, row.cycle) in already]
            for row in rows:
                if (row.member_id, row.product_id, row.cycle) in already:
                    continue  # sent by an earlier run of this cycle
                if reordered.get((row.member_id, row.product_id), row.last_purchase_at) > row.last_purchase_at:
                    continue  # an order is open: paid, the hook gives the row a new cycle; cancelled, it is sent
                waiting.append(row)
            eligible: set[tuple[int, int]] = set()
            for shop_id in {row.shop_id for row in waiting}:
                members = {row.member_id for row in waiting if row.shop_id == shop_id}
                eligible |= {(shop_id, m) for m in marketing_eligibility(members, shop_id, at=now, category="reminder")}
            deferred = [row.pk for row in waiting if (row.shop_id, row.member_id) not in eligible]
            candidates = [row for row in waiting if (row.shop_id, row.member_id) in eligible]
            inserted = _insert_reminders(candidates, now)  # (member, product, cycle) → reminder id, new ones only
            to_send = [row for row in candidates if (row.member_id, row.product_id, row.cycle) in inserted]
            carried = _give_what_reminders_carry(to_send, inserted)
            written = notify_many(_reminder_messages(to_send, carried), now=now)
            _link_notifications(
                [
                    (inserted[(row.member_id, row.product_id, row.cycle)], written[_reminder_key(row)])
                    for row in to_send
                    if _reminder_key(row) in written
                ]
            )
            if result is not None:
                for row in to_send:
                    result.count(row.shop_id)
            # Sent now, or by an earlier run of this cycle (its reminder row exists): done either way.
            done += [row.pk for row in candidates]
            RepurchaseDue.objects.filter(pk__in=_ids(done)).update(state=DueState.REMINDED)
            if deferred:  # opted out, capped or in after-sales now: tried again later
                RepurchaseDue.objects.filter(pk__in=_ids(deferred)).update(not_before=now + RETRY_DEFERRED)
            sent += len(to_send)
    return sent


def _reminded(rows: list[RepurchaseDue]) -> set[tuple[int, int, int]]:
    """The rows' (member, product, cycle) that have their reminder already (one query)."""
    return set(
        RepurchaseReminder.objects.filter(
            member_id__in=_ids({r.member_id for r in rows}),
            product_id__in={r.product_id for r in rows},
            cycle__in=_ids({r.cycle for r in rows}),
        ).values_list("member_id", "product_id", "cycle")
    )


def _give_what_reminders_carry(
    rows: list[RepurchaseDue], inserted: dict[tuple[int, int, int], int]
) -> dict[tuple[int, int, int], str]:
    """The plug-ins give what the new reminders carry (a coupon each) before the messages are written, so a
    message can name it: (member, product, cycle) → the words of what it carries (none when nothing)."""
    if not rows or not hooks.repurchase_reminded.receivers:
        return {}
    new_ids = [inserted[(row.member_id, row.product_id, row.cycle)] for row in rows]
    reminders = list(RepurchaseReminder.objects.filter(pk__in=_ids(new_ids)).select_related("member"))
    hooks.repurchase_reminded.run(reminders)
    words: dict[int, str] = {}
    for answer in hooks.repurchase_reminder_carries.answers(reminders):
        for reminder_id, said in (answer or {}).items():
            words[reminder_id] = f"{words[reminder_id]} {said}" if reminder_id in words else said
    return {key: words[pk] for key, pk in inserted.items() if pk in words}


def _reminder_key(row: RepurchaseDue) -> str:
    return f"repurchase:{row.member_id}:{row.product_id}:{row.cycle}"


def _reminder_messages(
    rows: list[RepurchaseDue], carried: dict[tuple[int, int, int], str] | None = None
) -> list[Outgoing]:
    """The reminders' messages; the words and link made once per product, due day and what the reminder
    carries (`carried`: the plug-ins' words, made once per template), not per member."""
    carried = carried or {}
    per_product: dict[int, tuple[str, str]] = {}
    bodies: dict[tuple[int, str, str], str] = {}
    messages = []
    names = dict(Product.objects.filter(pk__in={r.product_id for r in rows}).values_list("pk", "name")) if rows else {}
    for row in rows:
        if row.product_id not in per_product:
            per_product[row.product_id] = (
                _("「%(product)s」快用完了吗？") % {"product": names[row.product_id]},
                settings.SITE_URL + reverse("orders:reorder", args=[row.product_id]),
            )
        title, url = per_product[row.product_id]
        day = timezone.localtime(row.due_at).strftime("%m月%d日")
        extra = carried.get((row.member_id, row.product_id, row.cycle), "")
        body = bodies.get((row.product_id, day, extra))
        if body is None:
            body = _("你上次买的「%(product)s」预计在 %(date)s 前后用完。需要的话，点开即可一键再来一单。") % {
                "product": names[row.product_id],
                "date": day,
            }
            body = bodies[(row.product_id, day, extra)] = f"{body}{extra}" if extra else body
        messages.append(
            Outgoing(
                shop_id=row.shop_id,
                user_id=row.member_id,
                category="reminder",
                kind="repurchase",
                key=_reminder_key(row),
                title=title,
                body=body,
                url=url,
            )
        )
    return messages


def _insert_reminders(rows: list[RepurchaseDue], now: datetime) -> dict[tuple[int, int, int], int]:
    """Insert the rows' reminders in one statement; a (member, product, cycle) that has one already is
    skipped (ON CONFLICT DO NOTHING). Returns the ones inserted now: (member, product, cycle) → id."""
    if not rows:
        return {}
    table = RepurchaseReminder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (shop_id, member_id, product_id, cycle, due_at, sent_at) "
            "SELECT s, m, p, c, d, %s FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
            "%s::timestamptz[]) AS i(s, m, p, c, d) "
            "ON CONFLICT (member_id, product_id, cycle) DO NOTHING RETURNING member_id, product_id, cycle, id",
            [
                now,
                [r.shop_id for r in rows],
                [r.member_id for r in rows],
                [r.product_id for r in rows],
                [r.cycle for r in rows],
                [r.due_at for r in rows],
            ],
        )
        return {(m, p, c): pk for m, p, c, pk in cursor.fetchall()}


def _link_notifications(pairs: list[tuple[int, int]]) -> None:
    """Set each new reminder's notification id, in one UPDATE."""
    if not pairs:
        return
    table = RepurchaseReminder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET notification_id = v.n FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, n) "
            "WHERE r.id = v.id",
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )


def _claim(due_ids: list[int], now: datetime) -> list[RepurchaseDue]:
    """Lock the rows still waiting; rows another worker holds are skipped (it is sending them)."""
    return list(
        RepurchaseDue.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=_ids(due_ids), state=DueState.WAITING, due_at__gte=now - LAPSE_AFTER)
        .order_by("pk")
    )


def _reordered_since(rows: list[RepurchaseDue]) -> dict[tuple[int, int], datetime]:
    """(member, product) → when their latest open or paid order of the product was placed (one query)."""
    if not rows:
        return {}
    latest = (
        OrderLine.objects.filter(
            order__member_id__in=_ids({r.member_id for r in rows}),
            product_id__in={r.product_id for r in rows},
            order__state__in=REORDER_STATES,
        )
        .values("order__member_id", "product_id")
        .annotate(latest=Max("order__created_at"))
        .order_by()
    )
    return {(r["order__member_id"], r["product_id"]): r["latest"] for r in latest}
