"""Reads for the analytics pages and API: each a fixed number of queries over the fact tables (plus the
names of the groups, products and campaigns they show), however many orders or members the shop has.

Every function takes the shop's id first and reads only that shop's rows. Ranges are inclusive local days.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns.models import Campaign
from groups.models import Group, GroupHealthSnapshot

from .facts import MEASURES, week_of
from .models import DailyFact


@dataclass(frozen=True)
class Slice:
    """Which facts: a date range and, optionally, one group, channel or campaign."""

    start: date
    end: date
    group_id: int | None = None
    channel: str | None = None
    campaign_id: int | None = None

    def filter(self) -> Q:
        q = Q(day__gte=self.start, day__lte=self.end)
        if self.group_id is not None:
            q &= Q(group_id=self.group_id)
        if self.channel is not None:
            q &= Q(channel=self.channel)
        if self.campaign_id is not None:
            q &= Q(campaign_id=self.campaign_id)
        return q


def _sums(names=MEASURES) -> dict:
    return {name: Sum(name, default=0) for name in names}


def totals(shop_id: int, where: Slice) -> dict[str, int]:
    """Every measure summed over the slice: one query."""
    return DailyFact.objects.filter(where.filter(), shop_id=shop_id).aggregate(**_sums())


def daily(shop_id: int, where: Slice, names: list[str]) -> list[dict]:
    """The named measures per day of the slice (days without facts are absent): one query."""
    return list(
        DailyFact.objects.filter(where.filter(), shop_id=shop_id).values("day").annotate(**_sums(names)).order_by("day")
    )


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- Repeat purchase -----------------------------------------------------------------------------------

_PER_MEMBER = """
SELECT key, COUNT(*) AS buyers, COUNT(*) FILTER (WHERE orders >= 2) AS repeaters
FROM (
    SELECT {key} AS key, member_id, COUNT(DISTINCT order_id) AS orders
    FROM analytics_orderproductfact
    WHERE shop_id = %(shop)s AND day BETWEEN %(start)s AND %(end)s
    GROUP BY 1, 2
) per_member
GROUP BY key
ORDER BY key
"""
REPEAT_KEYS = {"shop": "shop_id", "group": "group_id", "month": "date_trunc('month', day)::date"}


def repeat_by(shop_id: int, start: date, end: date, by: str) -> list[dict]:
    """Buyers (≥ 1 paid order in the range) and repeat buyers (≥ 2) per `by`: "shop", "group" or "month"."""
    return _fetch(_PER_MEMBER.format(key=REPEAT_KEYS[by]), {"shop": shop_id, "start": start, "end": end})


_BY_PRODUCT = """
WITH picked AS (
    SELECT * FROM analytics_orderproductfact WHERE shop_id = %(shop)s AND day BETWEEN %(start)s AND %(end)s
),
per_member AS (SELECT product_id, member_id, COUNT(*) AS orders FROM picked GROUP BY product_id, member_id),
buyers AS (
    SELECT product_id, COUNT(*) AS buyers, COUNT(*) FILTER (WHERE orders >= 2) AS repeaters
    FROM per_member GROUP BY product_id
),
gaps AS (
    SELECT product_id,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY EXTRACT(EPOCH FROM paid_at - previous_paid_at) / 86400) AS median_days,
           COUNT(*) FILTER (WHERE product_order_n >= 2) AS repeat_orders,
           COUNT(*) FILTER (WHERE product_order_n >= 2 AND reminded_at IS NOT NULL
                            AND paid_at - reminded_at <= %(window)s * interval '1 day') AS reminded_orders
    FROM picked GROUP BY product_id
)
SELECT p.id AS product_id, p.name, p.usage_cycle_days, b.buyers, b.repeaters, g.median_days, g.repeat_orders,
       g.reminded_orders
FROM buyers b JOIN gaps g ON g.product_id = b.product_id JOIN orders_product p ON p.id = b.product_id
ORDER BY b.buyers DESC, p.id
"""


def repeat_by_product(shop_id: int, start: date, end: date, reminder_days: int) -> list[dict]:
    """Per product: buyers and repeat buyers, the median days between a member's purchases of it (against its
    usage cycle), its repeat orders and how many came within `reminder_days` of a repeat-purchase reminder."""
    return _fetch(_BY_PRODUCT, {"shop": shop_id, "start": start, "end": end, "window": reminder_days})


# --- Cohorts -------------------------------------------------------------------------------------------

_COHORTS = """
WITH base AS (
    SELECT member_id, week, joined, ordered, active FROM analytics_memberweekfact
    WHERE shop_id = %(shop)s {group_filter}
),
starts AS (SELECT member_id, MIN(week) FILTER (WHERE {basis}) AS cohort FROM base GROUP BY member_id),
cohorts AS (SELECT member_id, cohort FROM starts WHERE cohort BETWEEN %(first)s AND %(last)s)
SELECT c.cohort, (b.week - c.cohort) / 7 AS weeks_since, COUNT(DISTINCT b.member_id) AS members
FROM cohorts c JOIN base b ON b.member_id = c.member_id
WHERE b.week >= c.cohort AND b.week < c.cohort + %(weeks)s * 7 AND b.{measure}
GROUP BY 1, 2
UNION ALL
SELECT cohort, -1, COUNT(*) FROM cohorts GROUP BY 1
"""

COHORT_BASES = {"join": "joined", "first_order": "ordered"}
COHORT_MEASURES = {"order": "ordered", "activity": "active"}


def cohorts(
    shop_id: int, start: date, end: date, *, group_id: int | None, basis: str, measure: str, weeks: int
) -> list[dict]:
    """Members by the week they joined (or first paid), and how many of them paid (or did anything) in each of
    the following `weeks` weeks, per shop or in one group: [{cohort, size, retained: [n or None…]}]."""
    sql = _COHORTS.format(
        group_filter="AND group_id = %(group)s" if group_id is not None else "",
        basis=COHORT_BASES[basis],
        measure=COHORT_MEASURES[measure],
    )
    rows = _fetch(
        sql,
        {"shop": shop_id, "group": group_id, "first": week_of(start), "last": week_of(end), "weeks": weeks},
    )
    this_week = week_of(timezone.localdate())
    found: dict[date, dict] = {}
    for row in rows:
        cohort = found.setdefault(row["cohort"], {"cohort": row["cohort"], "size": 0, "retained": {}})
        if row["weeks_since"] == -1:
            cohort["size"] = row["members"]
        else:
            cohort["retained"][row["weeks_since"]] = row["members"]
    result = []
    for cohort_week in sorted(found):
        cohort = found[cohort_week]
        # Weeks not begun yet are blank, not 0%.
        cohort["retained"] = [
            cohort["retained"].get(k, 0) if cohort_week + timedelta(weeks=k) <= this_week else None
            for k in range(weeks)
        ]
        result.append(cohort)
    return result


# --- Campaigns -----------------------------------------------------------------------------------------

ROI_MEASURES = [
    "paid_orders",
    "revenue_fen",
    "refunds_fen",
    "tier_refunds_fen",
    "subsidy_fen",
    "reward_cost_fen",
    "gifts",
    "gift_cost_fen",
    "new_members",
    "campaign_acts",
]


def campaigns_in_range(shop_id: int, start: date, end: date, campaign_type: str | None) -> list[Campaign]:
    found = Campaign.objects.filter(shop_id=shop_id, starts_at__date__lte=end, ends_at__date__gte=start)
    if campaign_type:
        found = found.filter(type=campaign_type)
    return list(found.order_by("starts_at", "pk"))


def campaign_totals(shop_id: int, campaign_ids: list[int], start: date, end: date) -> dict[int, dict]:
    """{campaign: its ROI measures summed over the range}: one query."""
    rows = (
        DailyFact.objects.filter(shop_id=shop_id, campaign_id__in=campaign_ids, day__gte=start, day__lte=end)
        .values("campaign_id")
        .annotate(**_sums(ROI_MEASURES))
        .order_by()
    )
    return {row.pop("campaign_id"): row for row in rows}


def campaign_days(shop_id: int, campaign_ids: list[int], start: date, end: date) -> list[dict]:
    """Each campaign's ROI measures per day: one query."""
    return list(
        DailyFact.objects.filter(shop_id=shop_id, campaign_id__in=campaign_ids, day__gte=start, day__lte=end)
        .values("campaign_id", "day")
        .annotate(**_sums(ROI_MEASURES))
        .order_by("campaign_id", "day")
    )


# --- Groups --------------------------------------------------------------------------------------------


def groups_of(shop_id: int) -> dict[int, Group]:
    return {g.pk: g for g in Group.objects.filter(shop_id=shop_id).only("pk", "name", "state", "shop_id")}


def group_totals(shop_id: int, start: date, end: date) -> dict[int, dict]:
    rows = (
        DailyFact.objects.filter(shop_id=shop_id, group__isnull=False, day__gte=start, day__lte=end)
        .values("group_id")
        .annotate(**_sums(["revenue_fen", "refunds_fen", "paid_orders", "joins", "active_members", "check_ins"]))
        .order_by()
    )
    return {row.pop("group_id"): row for row in rows}


def health_history(shop_id: int, weeks: int) -> list[GroupHealthSnapshot]:
    """The groups' last `weeks` weekly health snapshots (groups.jobs writes them every Monday)."""
    since = week_of(timezone.localdate()) - timedelta(weeks=weeks)
    return list(
        GroupHealthSnapshot.objects.filter(group__shop_id=shop_id, week_start__gte=since)
        .only("group_id", "week_start", "active_members", "members", "orders", "gmv")
        .order_by("week_start", "group_id")
    )
