"""Building the fact tables (analytics.models) from the source tables.

    rebuild_days(shop_id=…, days=[…])      rewrite those days of a shop (and the weeks they fall in)
    rebuild_shop(shop_id=…, start=…, end=…) rewrite a date range, or a shop's whole history
    refresh(result=…)                      the periodic job: only the days whose sources changed

Two layers: the daily facts, order × product facts and member-week facts are rewritten by day (or week) from the
source tables; the summaries the repeat and cohort pages read (RepeatFact, RepeatIntervalFact, CohortFact) are
kept from those by difference: when a day's order × product rows (or a week's member-week rows) are rewritten,
the members they concern have their old contribution taken off and their new one added, in the same
transaction. A summary's rows are therefore always the aggregate of the rows beneath it; a rebuild of a shop's
whole history computes them from scratch instead.

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
- The summaries' size depends on the months, weeks, groups and products, never on the orders or members: the
  pages that read them cost the same at any volume.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shequn import locks
from shequn.jobs import JobResult
from shops.models import Shop

from .models import DailyFact, FactWatermark

JOB_NAME = "analytics-facts"
OVERLAP = timedelta(minutes=15)
BATCH_DAYS = 31  # days rewritten per transaction in a long rebuild
FACTS_LOCK_TIMEOUT = 600  # seconds another builder of the shop may wait: one batch of a long rebuild
REPEAT_MONTHS = 13  # months a range of the pages can touch (366 days at most): how far back repeat rows are kept
COHORT_WEEKS = 26  # weeks after its own a cohort is followed for (forms.CohortForm's most)

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
            # Free items (gifts, help rewards, treats) are placed at a zero unit price: all of it subsidy.
            "free_items": "COALESCE(SUM(co.units) FILTER (WHERE co.released_at IS NULL AND co.unit_price = 0), 0)",
            "free_item_cost_fen": """COALESCE(SUM(co.subsidy * 100)
                FILTER (WHERE co.released_at IS NULL AND co.unit_price = 0), 0)""",
        },
    ),
    (
        # A paid order's coupon discount, the cost of the campaign that gave the coupon (or of its template):
        # the one place a coupon is costed, invite-both-get ones included (see the reward part below).
        # The adjustment keeps its "coupon:<id>" source when a refund gives the coupon back.
        f"""orders_orderadjustment a JOIN orders_order o ON o.id = a.order_id
            JOIN campaigns_coupon c ON c.id = CASE WHEN a.source ~ '^coupon:[0-9]{{1,18}}$'
                THEN substring(a.source from 8)::bigint END
            LEFT JOIN groups_membership m ON m.group_id = o.group_id AND m.user_id = o.member_id
            WHERE o.shop_id = %(shop)s AND a.kind = 'coupon' AND {_in_days("o.paid_at")}""",
        "o.paid_at",
        "o.group_id",
        "COALESCE(m.channel, '')",
        "COALESCE(c.issuer_campaign_id, c.campaign_id)",
        {"coupon_discount_fen": "SUM(-a.amount * 100)"},
    ),
    (
        # Points a campaign gave (check-in milestones, prizes, referrals it brought), at their worth then.
        f"""referrals_pointsentry p JOIN referrals_pointsaccount acc ON acc.id = p.account_id
            WHERE acc.shop_id = %(shop)s AND p.kind = 'earn' AND p.campaign_id IS NOT NULL
            AND {_in_days("p.created_at")}""",
        "p.created_at",
        "NULL::bigint",
        "''",
        "p.campaign_id",
        {"points_cost_fen": "SUM(p.worth * 100)"},
    ),
    (
        # Items owed with no order (a prize bought in; an order's items are costed through the order).
        f"""orders_fulfilmentitem i WHERE i.shop_id = %(shop)s AND i.order_id IS NULL AND i.state <> 'void'
            AND {_in_days("i.owed_at")}""",
        "i.owed_at",
        "NULL::bigint",
        "''",
        "i.campaign_id",
        {"prizes": "SUM(i.quantity)", "prize_cost_fen": "SUM(i.worth * 100)"},
    ),
    (
        # Cash a campaign credited to a member's commission (a contest's cash prize; referral rewards are costed
        # through their Reward rows).
        f"""referrals_commissionentry ce JOIN referrals_commissionaccount acc ON acc.id = ce.account_id
            WHERE acc.shop_id = %(shop)s AND ce.kind = 'reward' AND ce.campaign_id IS NOT NULL
            AND {_in_days("ce.created_at")}""",
        "ce.created_at",
        "NULL::bigint",
        "''",
        "ce.campaign_id",
        {"cash_prize_cost_fen": "SUM(ce.amount * 100)"},
    ),
    (
        f"""groups_spacepost p JOIN groups_group g ON g.id = p.group_id
            LEFT JOIN groups_membership m ON m.group_id = p.group_id AND m.user_id = p.author_id
            WHERE g.shop_id = %(shop)s AND {_in_days("p.created_at")}""",
        "p.created_at",
        "p.group_id",
        "COALESCE(m.channel, '')",
        "NULL::bigint",
        {"posts": "COUNT(*)"},
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
        # Money rewards still owed or paid (reversed, capped and withheld ones are not paid). Points and coupon
        # rewards are not costed here but through what they give, once: the points at their worth (their ledger
        # entries), the invite-both-get coupons by what they take off paid orders (the coupon part above).
        f"""referrals_reward w JOIN referrals_referraledge e ON e.id = w.edge_id
            WHERE w.shop_id = %(shop)s AND w.status IN ('pending', 'granted')
            AND w.kind IN ('free_item', 'commission') AND {_in_days("w.created_at")}""",
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


# --- The summaries, kept by difference -------------------------------------------------------------------
#
# Each summary is a sum of per-member contributions computed from the member's rows beneath it: `state` names
# a relation of those rows. Rebuilding days, the members whose rows change have their old rows (those of other
# days, plus the rows just deleted, kept in a temporary table) counted with -1 and their new rows with +1.


def _repeat_cells(state: str) -> str:
    """(scope, scope_id, since, month, buyers, repeaters) for the members of `state` (order × product rows).

    Per scope, a member's purchases in order: the i-th counts as their first purchase on or after `since` for
    every month since after the (i-1)-th's month up to its own, and as their second for every month after the
    (i-2)-th's up to the (i-1)-th's; only months within REPEAT_MONTHS of the purchase are kept."""
    back = REPEAT_MONTHS - 1
    return f"""
SELECT scope, scope_id, since::date AS since, month, 1 AS buyers, 0 AS repeaters
FROM {state}_seq x, generate_series(
    GREATEST(x.m1::timestamp + interval '1 month', x.month::timestamp - interval '{back} months'),
    x.month::timestamp, interval '1 month') since
UNION ALL
SELECT scope, scope_id, since::date, month, 0, 1
FROM {state}_seq x, generate_series(
    GREATEST(x.m2::timestamp + interval '1 month', x.month::timestamp - interval '{back} months'),
    x.m1::timestamp, interval '1 month') since
WHERE x.m1 IS NOT NULL"""


def _repeat_seq(state: str) -> str:
    return f"""{state}_seq AS (
    SELECT scope, scope_id, month,
           lag(month) OVER w AS m1, lag(month, 2) OVER w AS m2
    FROM (
        SELECT DISTINCT 'shop' AS scope, %(shop)s::bigint AS scope_id, member_id, order_id, paid_at,
               date_trunc('month', day)::date AS month FROM {state}
        UNION ALL
        SELECT DISTINCT 'group', group_id, member_id, order_id, paid_at, date_trunc('month', day)::date FROM {state}
        UNION ALL
        SELECT 'product', product_id, member_id, order_id, paid_at, date_trunc('month', day)::date FROM {state}
    ) purchases
    WINDOW w AS (PARTITION BY scope, scope_id, member_id ORDER BY paid_at, order_id)
)"""


def _interval_cells(state: str) -> str:
    """(product, month, days, repeat_orders, reminded) of the order × product rows of `state`."""
    return f"""
SELECT product_id, date_trunc('month', day)::date AS month,
       day - {_day("previous_paid_at")} AS days, 1 AS repeat_orders, 0 AS reminded
FROM {state} WHERE previous_paid_at IS NOT NULL
UNION ALL
SELECT product_id, date_trunc('month', day)::date,
       ceil(EXTRACT(EPOCH FROM paid_at - reminded_at) / 86400)::int, 0, 1
FROM {state} WHERE previous_paid_at IS NOT NULL AND reminded_at IS NOT NULL"""


def _cohort_cells(state: str) -> str:
    """CTEs ending in {state}_cells: (group_id, basis, cohort, week, members, ordered, active) of the
    member-week rows of `state`, per group and for the shop (group NULL)."""
    return f"""{state}_scoped AS (
    SELECT group_id, member_id, week, joined, ordered, active FROM {state}
    UNION ALL
    SELECT NULL::bigint, member_id, week, bool_or(joined), bool_or(ordered), bool_or(active)
    FROM {state} GROUP BY member_id, week
),
{state}_starts AS (
    SELECT group_id, member_id, MIN(week) FILTER (WHERE joined) AS by_join, MIN(week) FILTER (WHERE ordered) AS by_order
    FROM {state}_scoped GROUP BY group_id, member_id
),
{state}_cells AS (
    SELECT p.group_id, b.basis, b.cohort, p.week, 1 AS members, p.ordered::int AS ordered, p.active::int AS active
    FROM {state}_starts s
    CROSS JOIN LATERAL (VALUES ('join', s.by_join), ('first_order', s.by_order)) b(basis, cohort)
    JOIN {state}_scoped p ON p.member_id = s.member_id AND COALESCE(p.group_id, 0) = COALESCE(s.group_id, 0)
    WHERE b.cohort IS NOT NULL AND p.week >= b.cohort AND p.week < b.cohort + {COHORT_WEEKS * 7}
)"""


_OPF_COLUMNS = "member_id, order_id, group_id, product_id, paid_at, day, previous_paid_at, reminded_at"
_MWF_COLUMNS = "group_id, member_id, week, joined, ordered, active"


def _upsert(table: str, key: str, measures: list[str], cells: str) -> str:
    """Add the summed signed cells to the table's rows (new rows inserted), then drop rows left all zero."""
    sums = ", ".join(f"SUM(sign * {m})" for m in measures)
    nonzero = " OR ".join(f"SUM(sign * {m}) <> 0" for m in measures)
    update = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in measures)
    zero = " AND ".join(f"{m} = 0" for m in measures)
    return f"""
INSERT INTO {table} (shop_id, {key}, {", ".join(measures)})
SELECT %(shop)s, {key}, {sums} FROM ({cells}) signed
GROUP BY {key} HAVING {nonzero}
ON CONFLICT (shop_id, {key}) DO UPDATE SET {update};
DELETE FROM {table} WHERE shop_id = %(shop)s AND {zero};
"""


_REPEAT_KEY = "scope, scope_id, since, month"
_INTERVAL_KEY = "product_id, month, days"
_COHORT_KEY = "group_id, basis, cohort, week"

# After a rewrite of %(days)s: the rows deleted are in opf_old / mwf_old.
_REPEAT_DELTA = f"""
WITH rewritten AS (
    SELECT {_OPF_COLUMNS} FROM analytics_orderproductfact WHERE shop_id = %(shop)s AND day = ANY(%(days)s)
),
touched AS (  -- the members whose rows changed (most of a day rewritten again is the same)
    SELECT member_id FROM (SELECT * FROM opf_old EXCEPT SELECT * FROM rewritten) gone
    UNION SELECT member_id FROM (SELECT * FROM rewritten EXCEPT SELECT * FROM opf_old) came
),
now_rows AS (
    SELECT {_OPF_COLUMNS} FROM analytics_orderproductfact
    WHERE shop_id = %(shop)s AND member_id IN (SELECT member_id FROM touched)
),
was_rows AS (
    SELECT {_OPF_COLUMNS} FROM now_rows WHERE NOT day = ANY(%(days)s)
    UNION ALL SELECT {_OPF_COLUMNS} FROM opf_old WHERE member_id IN (SELECT member_id FROM touched)
),
{_repeat_seq("now_rows")},
{_repeat_seq("was_rows")}
""" + _upsert(
    "analytics_repeatfact",
    _REPEAT_KEY,
    ["buyers", "repeaters"],
    f"SELECT 1 AS sign, * FROM ({_repeat_cells('now_rows')}) n "
    f"UNION ALL SELECT -1, * FROM ({_repeat_cells('was_rows')}) w",
)

_INTERVAL_DELTA = f"""
WITH now_rows AS (
    SELECT {_OPF_COLUMNS} FROM analytics_orderproductfact WHERE shop_id = %(shop)s AND day = ANY(%(days)s)
)
""" + _upsert(
    "analytics_repeatintervalfact",
    _INTERVAL_KEY,
    ["repeat_orders", "reminded"],
    f"SELECT 1 AS sign, * FROM ({_interval_cells('now_rows')}) n "
    f"UNION ALL SELECT -1, * FROM ({_interval_cells('opf_old')}) w",
)

_COHORT_DELTA = f"""
WITH rewritten AS (
    SELECT {_MWF_COLUMNS} FROM analytics_memberweekfact WHERE shop_id = %(shop)s AND week = ANY(%(weeks)s)
),
touched AS (  -- the members whose rows changed (most of a week rewritten again is the same)
    SELECT member_id FROM (SELECT * FROM mwf_old EXCEPT SELECT * FROM rewritten) gone
    UNION SELECT member_id FROM (SELECT * FROM rewritten EXCEPT SELECT * FROM mwf_old) came
),
now_rows AS (
    SELECT {_MWF_COLUMNS} FROM analytics_memberweekfact
    WHERE shop_id = %(shop)s AND member_id IN (SELECT member_id FROM touched)
),
was_rows AS (
    SELECT {_MWF_COLUMNS} FROM now_rows WHERE NOT week = ANY(%(weeks)s)
    UNION ALL SELECT {_MWF_COLUMNS} FROM mwf_old WHERE member_id IN (SELECT member_id FROM touched)
),
{_cohort_cells("now_rows")},
{_cohort_cells("was_rows")}
""" + _upsert(
    "analytics_cohortfact",
    _COHORT_KEY,
    ["members", "ordered", "active"],
    "SELECT 1 AS sign, * FROM now_rows_cells UNION ALL SELECT -1, * FROM was_rows_cells",
)

# A whole shop's summaries from scratch (after a rebuild of its whole history).
_SUMMARIES_FROM_SCRATCH = f"""
DELETE FROM analytics_repeatfact WHERE shop_id = %(shop)s;
DELETE FROM analytics_repeatintervalfact WHERE shop_id = %(shop)s;
DELETE FROM analytics_cohortfact WHERE shop_id = %(shop)s;
WITH all_rows AS (SELECT {_OPF_COLUMNS} FROM analytics_orderproductfact WHERE shop_id = %(shop)s),
{_repeat_seq("all_rows")}
INSERT INTO analytics_repeatfact (shop_id, {_REPEAT_KEY}, buyers, repeaters)
SELECT %(shop)s, {_REPEAT_KEY}, SUM(buyers), SUM(repeaters) FROM ({_repeat_cells("all_rows")}) c
GROUP BY {_REPEAT_KEY};
WITH all_rows AS (SELECT {_OPF_COLUMNS} FROM analytics_orderproductfact WHERE shop_id = %(shop)s)
INSERT INTO analytics_repeatintervalfact (shop_id, {_INTERVAL_KEY}, repeat_orders, reminded)
SELECT %(shop)s, {_INTERVAL_KEY}, SUM(repeat_orders), SUM(reminded) FROM ({_interval_cells("all_rows")}) c
GROUP BY {_INTERVAL_KEY};
WITH all_rows AS (SELECT {_MWF_COLUMNS} FROM analytics_memberweekfact WHERE shop_id = %(shop)s),
{_cohort_cells("all_rows")}
INSERT INTO analytics_cohortfact (shop_id, {_COHORT_KEY}, members, ordered, active)
SELECT %(shop)s, {_COHORT_KEY}, SUM(members), SUM(ordered), SUM(active) FROM all_rows_cells
GROUP BY {_COHORT_KEY};
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
    SELECT acc.shop_id, {_day("p.created_at")} FROM referrals_pointsentry p
    JOIN referrals_pointsaccount acc ON acc.id = p.account_id
    WHERE p.kind = 'earn' AND {_window("p.created_at")}
    UNION ALL
    SELECT i.shop_id, {_day("i.owed_at")} FROM orders_fulfilmentitem i
    WHERE i.order_id IS NULL AND ({_window("i.owed_at")} OR {_window("i.voided_at")})
    UNION ALL
    SELECT acc.shop_id, {_day("ce.created_at")} FROM referrals_commissionentry ce
    JOIN referrals_commissionaccount acc ON acc.id = ce.account_id
    WHERE ce.campaign_id IS NOT NULL AND {_window("ce.created_at")}
    UNION ALL
    SELECT g.shop_id, {_day("p.created_at")} FROM groups_spacepost p JOIN groups_group g ON g.id = p.group_id
    WHERE {_window("p.created_at")}
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
     WHERE c.shop_id = %(shop)s),
    (SELECT MIN(p.created_at) FROM referrals_pointsentry p JOIN referrals_pointsaccount acc ON acc.id = p.account_id
     WHERE acc.shop_id = %(shop)s AND p.kind = 'earn'),
    (SELECT MIN(owed_at) FROM orders_fulfilmentitem WHERE shop_id = %(shop)s AND order_id IS NULL),
    (SELECT MIN(ce.created_at) FROM referrals_commissionentry ce
     JOIN referrals_commissionaccount acc ON acc.id = ce.account_id
     WHERE acc.shop_id = %(shop)s AND ce.campaign_id IS NOT NULL),
    (SELECT MIN(p.created_at) FROM groups_spacepost p JOIN groups_group g ON g.id = p.group_id
     WHERE g.shop_id = %(shop)s)
)
"""


# For the builder's transaction only: generate_series' default estimate (1,000 rows a call) makes the planner
# compile the summaries' queries with JIT, which costs seconds and saves nothing; the sorts of a batch of
# days fit in memory instead of spilling to disk.
_BUILDER_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '64MB';"


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def rebuild_days(*, shop_id: int, days: Iterable[date], summaries: bool = True) -> int:
    """Rewrite the facts of these days of the shop (and the member weeks they fall in) from the sources, and
    bring the summaries up to date by difference (unless `summaries` is False: rebuild_shop then computes
    them from scratch at the end).

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
        cursor.execute(_BUILDER_SETTINGS)
        DailyFact.objects.filter(shop_id=shop_id, day__in=days).delete()
        # The rows replaced are kept until the end of the transaction: the summaries take them off.
        cursor.execute(
            f"""DROP TABLE IF EXISTS opf_old; DROP TABLE IF EXISTS mwf_old;
            CREATE TEMP TABLE opf_old ON COMMIT DROP AS
            WITH gone AS (DELETE FROM analytics_orderproductfact WHERE shop_id = %(shop)s AND day = ANY(%(days)s)
                          RETURNING {_OPF_COLUMNS})
            SELECT * FROM gone;
            CREATE TEMP TABLE mwf_old ON COMMIT DROP AS
            WITH gone AS (DELETE FROM analytics_memberweekfact WHERE shop_id = %(shop)s AND week = ANY(%(weeks)s)
                          RETURNING {_MWF_COLUMNS})
            SELECT * FROM gone;""",
            params,
        )
        cursor.execute(_DAILY_INSERT, params)
        written = cursor.rowcount
        cursor.execute(_ORDER_PRODUCT_INSERT, params)
        cursor.execute(_WEEK_INSERT, params)
        if summaries:
            cursor.execute(_REPEAT_DELTA, params)
            cursor.execute(_INTERVAL_DELTA, params)
            cursor.execute(_COHORT_DELTA, params)
        cursor.execute("DROP TABLE opf_old; DROP TABLE mwf_old;")
    return written


def rebuild_summaries(*, shop_id: int) -> None:
    """Compute the shop's summaries from scratch from its order × product and member-week facts."""
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock(locks.Namespace.ANALYTICS_FACTS, shop_id, timeout=FACTS_LOCK_TIMEOUT)
        cursor.execute(_BUILDER_SETTINGS)
        cursor.execute(_SUMMARIES_FROM_SCRATCH, {"shop": shop_id, "tz": TZ})


def _batches(days: Iterable[date]) -> Iterable[list[date]]:
    days = sorted(days)
    for i in range(0, len(days), BATCH_DAYS):
        yield days[i : i + BATCH_DAYS]


def rebuild_shop(*, shop_id: int, start: date | None = None, end: date | None = None) -> int:
    """Rewrite the shop's facts from `start` to `end` (inclusive; default: its first recorded act to today).

    Without `start` (the whole history) the summaries are computed once at the end, from scratch, rather than
    by difference batch after batch: the same rows, in one pass, and right even if they were never built.
    """
    today = timezone.localdate()
    whole = start is None
    if whole:
        with connection.cursor() as cursor:
            cursor.execute(_FIRST_DAY, {"shop": shop_id})
            (first,) = cursor.fetchone()
        start = timezone.localdate(first) if first else today
    end = end or today
    if end < start:
        return 0
    span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    written = sum(rebuild_days(shop_id=shop_id, days=batch, summaries=not whole) for batch in _batches(span))
    if whole:
        rebuild_summaries(shop_id=shop_id)
    return written


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
