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

from .facts import COHORT_WEEKS, MEASURES, week_of
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
#
# Read from the summaries (analytics.models.RepeatFact, RepeatIntervalFact): whole calendar months, the first
# of `start`'s month to the end of `end`'s (at most facts.REPEAT_MONTHS of them).


def month_of(day: date) -> date:
    return day.replace(day=1)


_REPEATERS = """
SELECT scope_id AS key, SUM(buyers) AS buyers, SUM(repeaters) AS repeaters
FROM analytics_repeatfact
WHERE shop_id = %(shop)s AND scope = %(scope)s AND since = %(first)s AND month <= %(last)s
GROUP BY scope_id HAVING SUM(buyers) > 0
ORDER BY scope_id
"""
_MONTHLY = """
SELECT since AS key, buyers, repeaters FROM analytics_repeatfact
WHERE shop_id = %(shop)s AND scope = 'shop' AND since = month AND since BETWEEN %(first)s AND %(last)s
    AND buyers > 0
ORDER BY since
"""


def repeat_by(shop_id: int, start: date, end: date, by: str) -> list[dict]:
    """Buyers (≥ 1 paid order in the months of the range) and repeat buyers (≥ 2) per `by`: "shop", "group" (in
    that group), or "month" (each month on its own): one query over the summaries."""
    params = {"shop": shop_id, "first": month_of(start), "last": month_of(end), "scope": by}
    return _fetch(_MONTHLY if by == "month" else _REPEATERS, params)


_PRODUCT_BUYERS = """
SELECT p.id AS product_id, p.name, p.usage_cycle_days, SUM(r.buyers) AS buyers, SUM(r.repeaters) AS repeaters
FROM analytics_repeatfact r JOIN orders_product p ON p.id = r.scope_id
WHERE r.shop_id = %(shop)s AND r.scope = 'product' AND r.since = %(first)s AND r.month <= %(last)s
GROUP BY p.id HAVING SUM(r.buyers) > 0
ORDER BY buyers DESC, p.id
"""
_PRODUCT_INTERVALS = """
SELECT product_id, days, SUM(repeat_orders) AS repeat_orders, SUM(reminded) AS reminded
FROM analytics_repeatintervalfact
WHERE shop_id = %(shop)s AND month BETWEEN %(first)s AND %(last)s
GROUP BY product_id, days
ORDER BY product_id, days
"""


def _median(counts: list[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many) sorted by value (the mean of the middle two if even)."""
    total = sum(n for _value, n in counts)
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]  # 0-based positions of the middle value(s)
    found, seen = [], 0
    for value, n in counts:
        found += [value for position in middle if seen <= position < seen + n]
        seen += n
    return sum(found) / 2


def repeat_by_product(shop_id: int, start: date, end: date, reminder_days: int) -> list[dict]:
    """Per product: buyers and repeat buyers, the median calendar days between a member's purchases of it
    (against its usage cycle), its repeat orders and how many came within `reminder_days` of a repeat-purchase
    reminder sent since the previous purchase: two queries over the summaries."""
    params = {"shop": shop_id, "first": month_of(start), "last": month_of(end)}
    rows = _fetch(_PRODUCT_BUYERS, params)
    intervals: dict[int, list[dict]] = {}
    for row in _fetch(_PRODUCT_INTERVALS, params):
        intervals.setdefault(row["product_id"], []).append(row)
    for row in rows:
        found = intervals.get(row["product_id"], [])
        row["repeat_orders"] = sum(r["repeat_orders"] for r in found)
        row["reminded_orders"] = sum(r["reminded"] for r in found if r["days"] <= reminder_days)
        row["median_days"] = _median([(r["days"], r["repeat_orders"]) for r in found if r["repeat_orders"]])
    return rows


# --- Cohorts -------------------------------------------------------------------------------------------

_COHORTS = """
SELECT cohort, (week - cohort) / 7 AS weeks_since, members, {measure} AS kept
FROM analytics_cohortfact
WHERE shop_id = %(shop)s AND {group_filter} AND basis = %(basis)s AND cohort BETWEEN %(first)s AND %(last)s
    AND week < cohort + %(weeks)s * 7
ORDER BY cohort, week
"""

COHORT_MEASURES = {"order": "ordered", "activity": "active"}


def cohorts(
    shop_id: int, start: date, end: date, *, group_id: int | None, basis: str, measure: str, weeks: int
) -> list[dict]:
    """Members by the week they joined (or first paid), and how many of them paid (or did anything) in each of
    the following `weeks` weeks, per shop or in one group: [{cohort, size, retained: [n or None…]}].
    One query over the cohort summaries (analytics.models.CohortFact)."""
    sql = _COHORTS.format(
        group_filter="group_id = %(group)s" if group_id is not None else "group_id IS NULL",
        measure=COHORT_MEASURES[measure],
    )
    params = {
        "shop": shop_id,
        "group": group_id,
        "basis": basis,
        "first": week_of(start),
        "last": week_of(end),
        "weeks": min(weeks, COHORT_WEEKS),
    }
    this_week = week_of(timezone.localdate())
    found: dict[date, dict] = {}
    for row in _fetch(sql, params):
        cohort = found.setdefault(row["cohort"], {"cohort": row["cohort"], "size": 0, "retained": {}})
        if row["weeks_since"] == 0:
            cohort["size"] = row["members"]
        cohort["retained"][row["weeks_since"]] = row["kept"]
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
    "coupon_discount_fen",
    "free_items",
    "free_item_cost_fen",
    "points_cost_fen",
    "prizes",
    "prize_cost_fen",
    "cash_prize_cost_fen",
    "new_members",
    "campaign_acts",
]


def campaigns_in_range(shop_id: int, start: date, end: date, campaign_type: str | None) -> list[Campaign]:
    found = Campaign.objects.filter(shop_id=shop_id, starts_at__date__lte=end).filter(
        Q(ends_at__isnull=True) | Q(ends_at__date__gte=start)  # an open-ended campaign is still on
    )
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
        .annotate(
            **_sums(["revenue_fen", "refunds_fen", "paid_orders", "joins", "active_members", "check_ins", "posts"])
        )
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
