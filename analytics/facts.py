"""Building the fact tables (analytics.models) from the source tables.

    rebuild_days(shop_id=…, days=[…])      rewrite those days of a shop (and the weeks they fall in)
    rebuild_shop(shop_id=…, start=…, end=…) rewrite a date range, or a shop's whole history
    refresh(result=…)                      the periodic job: only the days whose sources changed

Guarantees:
- Exact: a day's rows are always rewritten whole from the sources, in one transaction per shop and batch of
  days (the previous rows deleted, the new aggregate inserted), so the incremental job, a range rebuild and a
  rebuild from scratch give identical rows; running any of them again changes nothing.
- Incremental: the job reads only rows whose change time (paid, refunded, joined, recorded, voided, sent…)
  is after its watermark, turns them into the (shop, day) pairs they affect, and rebuilds those. Changes that
  shift later rows (a payment before another of the member's payments renumbers them; a re-join may change
  the channel of the member's orders; a reminder counts for the next purchase) mark those later days too.
- A transaction that commits after a run but stamped its rows before that run's end is still seen: each run
  reads from its watermark minus `OVERLAP` (rebuilding a day twice is harmless).
- A day's member-week rows are its whole week's, rewritten with the day (weeks shared by two batches are
  simply written twice, identically).
- Two builders never interleave on one shop: each transaction takes a per-shop advisory lock first.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shequn import locks
from shequn.jobs import JobResult
from shops.models import Shop

from .models import DailyFact, FactWatermark, MemberWeekFact, OrderProductFact

JOB_NAME = "analytics-facts"
OVERLAP = timedelta(minutes=15)
BATCH_DAYS = 31  # days rewritten per transaction in a long rebuild
FACTS_LOCK_TIMEOUT = 600  # seconds another builder of the shop may wait: one batch of a long rebuild

TZ = settings.TIME_ZONE

MEASURES = [f.name for f in DailyFact._meta.get_fields() if f.get_internal_type() == "BigIntegerField"]


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE %(tz)s)::date"


def _week(column: str) -> str:
    return f"date_trunc('week', {column} AT TIME ZONE %(tz)s)::date"


def _in_days(column: str) -> str:
    """The column's time falls on one of %(days)s (the range test first, so indexes on the column help)."""
    return f"{column} >= %(lo)s AND {column} < %(hi)s AND {_day(column)} = ANY(%(days)s)"


def _in_weeks(column: str) -> str:
    return f"{column} >= %(week_lo)s AND {column} < %(week_hi)s AND {_week(column)} = ANY(%(weeks)s)"


# Each member's paid orders in the shop, numbered by payment (1 = first order), for the members who paid
# on one of the days being built: the numbering needs their whole history, but only theirs.
_RANKED = f"""
ranked AS (
    SELECT o.id, o.group_id, o.member_id, o.paid_at, o.total,
           row_number() OVER (PARTITION BY o.member_id ORDER BY o.paid_at, o.id) AS n
    FROM orders_order o
    WHERE o.shop_id = %(shop)s AND o.paid_at IS NOT NULL
      AND o.member_id IN (
          SELECT member_id FROM orders_order
          WHERE shop_id = %(shop)s AND paid_at IS NOT NULL AND {_in_days("paid_at")})
)"""

# One part per source: (FROM … WHERE …, the day column, group, channel, campaign, {measure: aggregate}).
_PARTS = [
    (
        # Every invite link's opens (an operator's channel too), and its openers signed in: opened signed in,
        # or opened signed out and back signed in.
        f"groups_linkvisit v WHERE v.shop_id = %(shop)s AND {_in_days('v.at')}",
        "v.at",
        "v.group_id",
        "v.channel",
        "NULL::bigint",
        {
            "link_opens": "COUNT(*) FILTER (WHERE v.kind = 'opened')",
            "signed_in_opens": "COUNT(*) FILTER (WHERE v.kind = 'signed_in' OR (v.kind = 'opened' AND v.signed_in))",
        },
    ),
    (
        # Campaign share pages' opens and sign-ins (campaigns.visits): the campaign's, in the sharer's group and
        # channel (none on visits recorded before they were kept).
        f"campaigns_campaignvisit v WHERE v.shop_id = %(shop)s AND {_in_days('v.at')}",
        "v.at",
        "v.group_id",
        "v.channel",
        "v.campaign_id",
        {
            "link_opens": "COUNT(*) FILTER (WHERE v.kind = 'opened')",
            "signed_in_opens": "COUNT(*) FILTER (WHERE v.kind = 'signed_in' OR (v.kind = 'opened' AND v.signed_in))",
        },
    ),
    (
        f"""referrals_referralevent e WHERE e.shop_id = %(shop)s AND e.voided_at IS NULL
            AND e.kind IN ('qualified', 'first_order') AND {_in_days("e.occurred_at")}""",
        "e.occurred_at",
        "e.group_id",
        "e.channel",
        "e.campaign_id",
        {
            "qualified_referrals": "COUNT(*) FILTER (WHERE e.kind = 'qualified')",
            "invitee_first_orders": "COUNT(*) FILTER (WHERE e.kind = 'first_order')",
        },
    ),
    (
        f"""groups_membership m JOIN groups_group g ON g.id = m.group_id
            WHERE g.shop_id = %(shop)s AND {_in_days("m.first_joined_at")}""",
        "m.first_joined_at",
        "m.group_id",
        "m.channel",
        "m.campaign_id",  # the campaign whose share page brought the join (campaigns.visits)
        {"joins": "COUNT(*)"},
    ),
    (
        f"""ranked r
            LEFT JOIN groups_membership m ON m.group_id = r.group_id AND m.user_id = r.member_id
            LEFT JOIN campaigns_campaignorder co ON co.order_id = r.id
            WHERE {_in_days("r.paid_at")}""",
        "r.paid_at",
        "r.group_id",
        "COALESCE(m.channel, '')",
        "co.campaign_id",
        {
            "paid_orders": "COUNT(*)",
            "first_orders": "COUNT(*) FILTER (WHERE r.n = 1)",
            "second_orders": "COUNT(*) FILTER (WHERE r.n = 2)",
            "revenue_fen": "SUM(r.total * 100)",
            "subsidy_fen": "COALESCE(SUM(co.subsidy * 100) FILTER (WHERE co.released_at IS NULL), 0)",
        },
    ),
    (
        f"""orders_refund f JOIN orders_order o ON o.id = f.order_id
            LEFT JOIN groups_membership m ON m.group_id = o.group_id AND m.user_id = o.member_id
            LEFT JOIN campaigns_campaignorder co ON co.order_id = o.id
            WHERE o.shop_id = %(shop)s AND f.state = 'succeeded' AND {_in_days("f.succeeded_at")}""",
        "f.succeeded_at",
        "o.group_id",
        "COALESCE(m.channel, '')",
        "co.campaign_id",
        {
            "refunds_fen": "SUM(f.amount * 100)",
            "refund_count": "COUNT(*)",
            # Group buy's tier price differences (campaigns/types/group_buy/kind.py: key team:<team>:tier:<seat>).
            "tier_refunds_fen": "COALESCE(SUM(f.amount * 100) FILTER (WHERE f.key LIKE 'team:%%:tier:%%'), 0)",
        },
    ),
    (
        f"referrals_referraledge e WHERE e.shop_id = %(shop)s AND {_in_days('e.created_at')}",
        "e.created_at",
        "e.group_id",
        "e.channel",
        "e.campaign_id",
        {"invites": "COUNT(*)"},
    ),
    (
        # Money rewards still owed or paid (points cost nothing; reversed, capped and withheld ones are not paid).
        f"""referrals_reward w JOIN referrals_referraledge e ON e.id = w.edge_id
            WHERE w.shop_id = %(shop)s AND w.status IN ('pending', 'granted')
            AND w.kind IN ('coupon', 'free_item', 'commission') AND {_in_days("w.created_at")}""",
        "w.created_at",
        "e.group_id",
        "e.channel",
        "e.campaign_id",
        {"reward_cost_fen": "SUM(w.amount * 100)"},
    ),
    (
        # A help task's free item handed over (助力赠品), worth its SKU's price when granted (recorded then).
        f"""campaigns_helptask t JOIN campaigns_campaign c ON c.id = t.campaign_id
            LEFT JOIN groups_membership m ON m.group_id = t.group_id AND m.user_id = t.starter_id
            WHERE c.shop_id = %(shop)s AND t.reward->>'kind' = 'free_item' AND {_in_days("t.reward_granted_at")}""",
        "t.reward_granted_at",
        "t.group_id",
        "COALESCE(m.channel, '')",
        "t.campaign_id",
        {"gifts": "COUNT(*)", "gift_cost_fen": "COALESCE(SUM(t.reward_value * 100), 0)"},
    ),
    (
        # A message landing in the inbox is not something the member did.
        f"""groups_memberactivity a JOIN groups_group g ON g.id = a.group_id
            LEFT JOIN groups_membership m ON m.group_id = a.group_id AND m.user_id = a.user_id
            WHERE g.shop_id = %(shop)s AND a.kind <> 'message_received' AND {_in_days("a.at")}""",
        "a.at",
        "a.group_id",
        "COALESCE(m.channel, '')",
        "NULL::bigint",
        {
            "active_members": "COUNT(DISTINCT a.user_id)",
            "check_ins": "COUNT(*) FILTER (WHERE a.kind = 'check_in')",
        },
    ),
    (
        f"""campaigns_campaignact a JOIN campaigns_campaign c ON c.id = a.campaign_id
            WHERE c.shop_id = %(shop)s AND {_in_days("a.occurred_at")}""",
        "a.occurred_at",
        "NULL::bigint",
        "''",
        "a.campaign_id",
        {
            "campaign_acts": "COUNT(*)",
            # A new member counts once per campaign: on the day of their first act as a new member.
            "new_members": """COUNT(DISTINCT a.actor_id) FILTER (WHERE a.new_member AND NOT EXISTS (
                SELECT 1 FROM campaigns_campaignact b WHERE b.campaign_id = a.campaign_id
                AND b.actor_id = a.actor_id AND b.new_member AND (b.occurred_at, b.id) < (a.occurred_at, a.id)))""",
        },
    ),
]


def _part_sql(source, day, group, channel, campaign, measures) -> str:
    values = ", ".join(f"({measures[m]})::bigint AS {m}" if m in measures else f"0::bigint AS {m}" for m in MEASURES)
    return (
        f"SELECT {_day(day)} AS day, {group} AS group_id, COALESCE({channel}, '') AS channel, "
        f"{campaign} AS campaign_id, {values} FROM {source} GROUP BY 1, 2, 3, 4"
    )


_DAILY_INSERT = f"""
WITH {_RANKED}
INSERT INTO analytics_dailyfact (shop_id, day, group_id, channel, campaign_id, {", ".join(MEASURES)})
SELECT %(shop)s, day, group_id, channel, campaign_id, {", ".join(f"SUM({m})" for m in MEASURES)}
FROM ({" UNION ALL ".join(_part_sql(*part) for part in _PARTS)}) parts
GROUP BY day, group_id, channel, campaign_id
"""

_ORDER_PRODUCT_INSERT = f"""
WITH {_RANKED},
lines AS (
    SELECT r.id AS order_id, r.member_id, r.group_id, r.paid_at, r.n, l.product_id, SUM(l.line_total) AS amount
    FROM ranked r JOIN orders_orderline l ON l.order_id = r.id
    GROUP BY r.id, r.member_id, r.group_id, r.paid_at, r.n, l.product_id
),
numbered AS (
    SELECT lines.*,
           row_number() OVER (PARTITION BY member_id, product_id ORDER BY paid_at, order_id) AS pn,
           lag(paid_at) OVER (PARTITION BY member_id, product_id ORDER BY paid_at, order_id) AS previous
    FROM lines
)
INSERT INTO analytics_orderproductfact (shop_id, order_id, member_id, group_id, product_id, day, paid_at,
    member_order_n, product_order_n, previous_paid_at, reminded_at, revenue_fen)
SELECT %(shop)s, x.order_id, x.member_id, x.group_id, x.product_id, {_day("x.paid_at")}, x.paid_at, x.n, x.pn,
       x.previous,
       (SELECT MAX(rr.sent_at) FROM orders_repurchasereminder rr
        WHERE rr.shop_id = %(shop)s AND rr.member_id = x.member_id AND rr.product_id = x.product_id
          AND rr.sent_at <= x.paid_at AND (x.previous IS NULL OR rr.sent_at > x.previous)),
       (x.amount * 100)::bigint
FROM numbered x
WHERE {_in_days("x.paid_at")}
"""

_WEEK_INSERT = f"""
INSERT INTO analytics_memberweekfact (shop_id, group_id, member_id, week, joined, ordered, active)
SELECT %(shop)s, group_id, member_id, week, bool_or(joined), bool_or(ordered), bool_or(active)
FROM (
    SELECT m.group_id, m.user_id AS member_id, {_week("m.first_joined_at")} AS week,
           true AS joined, false AS ordered, false AS active
    FROM groups_membership m JOIN groups_group g ON g.id = m.group_id
    WHERE g.shop_id = %(shop)s AND {_in_weeks("m.first_joined_at")}
    UNION ALL
    SELECT o.group_id, o.member_id, {_week("o.paid_at")}, false, true, false
    FROM orders_order o
    WHERE o.shop_id = %(shop)s AND o.paid_at IS NOT NULL AND {_in_weeks("o.paid_at")}
    UNION ALL
    SELECT a.group_id, a.user_id, {_week("a.at")}, false, false, true
    FROM groups_memberactivity a JOIN groups_group g ON g.id = a.group_id
    WHERE g.shop_id = %(shop)s AND a.kind <> 'message_received' AND {_in_weeks("a.at")}
) parts
GROUP BY group_id, member_id, week
"""


def _window(column: str) -> str:
    return f"({column} >= %(since)s AND {column} < %(until)s)"


# (shop, day) pairs whose facts a change in [since, until) affects; see the module's guarantees.
_DIRTY = f"""
SELECT DISTINCT shop_id, day FROM (
    SELECT o.shop_id, {_day("o.paid_at")} AS day FROM orders_order o WHERE {_window("o.paid_at")}
    UNION ALL
    SELECT later.shop_id, {_day("later.paid_at")} FROM orders_order o
    JOIN orders_order later ON later.shop_id = o.shop_id AND later.member_id = o.member_id
        AND later.paid_at > o.paid_at
    WHERE {_window("o.paid_at")}
    UNION ALL
    SELECT o.shop_id, {_day("o.paid_at")} FROM orders_ordertransition t JOIN orders_order o ON o.id = t.order_id
    WHERE {_window("t.at")} AND o.paid_at IS NOT NULL
    UNION ALL
    SELECT o.shop_id, {_day("f.succeeded_at")} FROM orders_refund f JOIN orders_order o ON o.id = f.order_id
    WHERE {_window("f.succeeded_at")}
    UNION ALL
    SELECT g.shop_id, {_day("m.first_joined_at")} FROM groups_membership m JOIN groups_group g ON g.id = m.group_id
    WHERE {_window("m.first_joined_at")}
    UNION ALL
    SELECT o.shop_id, {_day("o.paid_at")} FROM groups_membership m
    JOIN orders_order o ON o.group_id = m.group_id AND o.member_id = m.user_id AND o.paid_at IS NOT NULL
    WHERE {_window("m.joined_at")}
    UNION ALL
    SELECT g.shop_id, {_day("a.at")} FROM groups_memberactivity a JOIN groups_group g ON g.id = a.group_id
    WHERE {_window("a.at")}
    UNION ALL
    SELECT v.shop_id, {_day("v.at")} FROM groups_linkvisit v WHERE {_window("v.at")}
    UNION ALL
    SELECT v.shop_id, {_day("v.at")} FROM campaigns_campaignvisit v WHERE {_window("v.at")}
    UNION ALL
    SELECT e.shop_id, {_day("e.occurred_at")} FROM referrals_referralevent e
    WHERE {_window("e.recorded_at")} OR {_window("e.voided_at")}
    UNION ALL
    SELECT e.shop_id, {_day("e.created_at")} FROM referrals_referraledge e WHERE {_window("e.created_at")}
    UNION ALL
    SELECT w.shop_id, {_day("w.created_at")} FROM referrals_reward w
    WHERE {_window("w.created_at")} OR {_window("w.granted_at")} OR {_window("w.closed_at")}
    UNION ALL
    SELECT c.shop_id, {_day("a.occurred_at")} FROM campaigns_campaignact a
    JOIN campaigns_campaign c ON c.id = a.campaign_id WHERE {_window("a.occurred_at")}
    UNION ALL
    SELECT c.shop_id, {_day("later.occurred_at")} FROM campaigns_campaignact a
    JOIN campaigns_campaign c ON c.id = a.campaign_id
    JOIN campaigns_campaignact later ON later.campaign_id = a.campaign_id AND later.actor_id = a.actor_id
        AND later.new_member AND later.occurred_at > a.occurred_at
    WHERE {_window("a.occurred_at")} AND a.new_member
    UNION ALL
    SELECT c.shop_id, {_day("t.reward_granted_at")} FROM campaigns_helptask t
    JOIN campaigns_campaign c ON c.id = t.campaign_id WHERE {_window("t.reward_granted_at")}
    UNION ALL
    SELECT o.shop_id, {_day("o.paid_at")} FROM campaigns_campaignorder co JOIN orders_order o ON o.id = co.order_id
    WHERE o.paid_at IS NOT NULL AND ({_window("co.created_at")} OR {_window("co.released_at")})
    UNION ALL
    SELECT o.shop_id, {_day("o.paid_at")} FROM orders_repurchasereminder rr
    JOIN orders_order o ON o.shop_id = rr.shop_id AND o.member_id = rr.member_id AND o.paid_at > rr.sent_at
    JOIN orders_orderline l ON l.order_id = o.id AND l.product_id = rr.product_id
    WHERE {_window("rr.sent_at")}
) changed
WHERE day IS NOT NULL
"""

_FIRST_DAY = """
SELECT LEAST(
    (SELECT MIN(paid_at) FROM orders_order WHERE shop_id = %(shop)s),
    (SELECT MIN(m.first_joined_at) FROM groups_membership m JOIN groups_group g ON g.id = m.group_id
     WHERE g.shop_id = %(shop)s),
    (SELECT MIN(a.at) FROM groups_memberactivity a JOIN groups_group g ON g.id = a.group_id WHERE g.shop_id = %(shop)s),
    (SELECT MIN(at) FROM groups_linkvisit WHERE shop_id = %(shop)s),
    (SELECT MIN(at) FROM campaigns_campaignvisit WHERE shop_id = %(shop)s),
    (SELECT MIN(occurred_at) FROM referrals_referralevent WHERE shop_id = %(shop)s),
    (SELECT MIN(created_at) FROM referrals_referraledge WHERE shop_id = %(shop)s),
    (SELECT MIN(created_at) FROM referrals_reward WHERE shop_id = %(shop)s),
    (SELECT MIN(a.occurred_at) FROM campaigns_campaignact a JOIN campaigns_campaign c ON c.id = a.campaign_id
     WHERE c.shop_id = %(shop)s),
    (SELECT MIN(t.reward_granted_at) FROM campaigns_helptask t JOIN campaigns_campaign c ON c.id = t.campaign_id
     WHERE c.shop_id = %(shop)s)
)
"""


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def rebuild_days(*, shop_id: int, days: Iterable[date]) -> int:
    """Rewrite the facts of these days of the shop (and the member weeks they fall in) from the sources.

    One transaction under the shop's advisory lock; returns the number of daily fact rows written.
    """
    days = sorted(set(days))
    if not days:
        return 0
    weeks = sorted({week_of(d) for d in days})
    params = {
        "shop": shop_id,
        "tz": TZ,
        "days": days,
        "lo": _start_of(days[0]),
        "hi": _start_of(days[-1] + timedelta(days=1)),
        "weeks": weeks,
        "week_lo": _start_of(weeks[0]),
        "week_hi": _start_of(weeks[-1] + timedelta(days=7)),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # one builder per shop at a time; a long rebuild may hold it for a whole batch of days
        locks.lock(locks.Namespace.ANALYTICS_FACTS, shop_id, timeout=FACTS_LOCK_TIMEOUT)
        DailyFact.objects.filter(shop_id=shop_id, day__in=days).delete()
        OrderProductFact.objects.filter(shop_id=shop_id, day__in=days).delete()
        MemberWeekFact.objects.filter(shop_id=shop_id, week__in=weeks).delete()
        cursor.execute(_DAILY_INSERT, params)
        written = cursor.rowcount
        cursor.execute(_ORDER_PRODUCT_INSERT, params)
        cursor.execute(_WEEK_INSERT, params)
    return written


def _batches(days: Iterable[date]) -> Iterable[list[date]]:
    days = sorted(days)
    for i in range(0, len(days), BATCH_DAYS):
        yield days[i : i + BATCH_DAYS]


def rebuild_shop(*, shop_id: int, start: date | None = None, end: date | None = None) -> int:
    """Rewrite the shop's facts from `start` to `end` (inclusive; default: its first recorded act to today)."""
    today = timezone.localdate()
    if start is None:
        with connection.cursor() as cursor:
            cursor.execute(_FIRST_DAY, {"shop": shop_id})
            (first,) = cursor.fetchone()
        start = timezone.localdate(first) if first else today
    end = end or today
    if end < start:
        return 0
    span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return sum(rebuild_days(shop_id=shop_id, days=batch) for batch in _batches(span))


def changed_days(*, since: datetime, until: datetime) -> dict[int, set[date]]:
    """{shop: days} whose facts depend on a change stamped in [since, until)."""
    with connection.cursor() as cursor:
        cursor.execute(_DIRTY, {"since": since, "until": until, "tz": TZ})
        found: dict[int, set[date]] = {}
        for shop_id, day in cursor.fetchall():
            found.setdefault(shop_id, set()).add(day)
    return found


def refresh(*, result: JobResult, now: datetime | None = None) -> None:
    """The periodic job: rebuild the days changed since the watermark, then move the watermark to `now`.

    The first run (no watermark) rebuilds every shop's whole history. A failure leaves the watermark where
    it was, so the next run redoes the same window.
    """
    now = now or timezone.now()
    mark = FactWatermark.objects.filter(name=JOB_NAME).first()
    if mark is None:
        for shop_id in Shop.objects.order_by("pk").values_list("pk", flat=True):
            result.count(shop_id, rebuild_shop(shop_id=shop_id))
    else:
        for shop_id, days in sorted(changed_days(since=mark.changes_until - OVERLAP, until=now).items()):
            result.count(shop_id, sum(rebuild_days(shop_id=shop_id, days=batch) for batch in _batches(days)))
    FactWatermark.objects.update_or_create(name=JOB_NAME, defaults={"changes_until": now})
