"""For random shops, every figure the analytics pages show equals a direct computation from the source tables:
the funnel, repeat rates (per shop, group and product, with purchase intervals and reminder attribution),
cohort cells and campaign ROI."""

import random
import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import facts, reports, selectors
from analytics.facts import week_of
from analytics.tables import rate, ratio
from groups.models import ActivityKind, MemberActivity, Membership
from orders.models import Order, RepurchaseReminder
from tests.analytics import shopdata
from tests.analytics.shopdata import local_day

pytestmark = pytest.mark.django_db

SHOPS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
shops = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32),
        "members": st.integers(1, 10),
        "orders": st.integers(0, 30),
        "days": st.integers(1, 45),
    }
)


def _build(spec):
    data = shopdata.make_shop(
        random.Random(spec["seed"]), members=spec["members"], orders=spec["orders"], days=spec["days"]
    )
    facts.rebuild_shop(shop_id=data.shop.pk)
    return data


def _range(data, rng):
    first = data.start.date()
    start = first + timedelta(days=rng.randint(0, 10))
    return start, start + timedelta(days=rng.randint(0, 40))


def _summed(cells, start, end, keep=lambda key: True) -> Counter:
    total = Counter()
    for key, counts in cells.items():
        if start <= key[0] <= end and keep(key):
            total.update(counts)
    return total


@SHOPS
@given(spec=shops)
def test_the_funnel_equals_the_source_counts(spec):
    data = _build(spec)
    rng = random.Random(spec["seed"])
    start, end = _range(data, rng)
    cells = shopdata.direct_daily(data.shop)
    group = rng.choice(data.groups)
    slices = [({"group": None}, lambda key: True), ({"group": group}, lambda key: key[1] == group.pk)]
    for campaign in data.campaigns:  # one campaign's share page opens, sign-ins, the joins they brought…
        slices.append(({"group": None, "campaign": campaign}, lambda key, pk=campaign.pk: key[3] == pk))
        # … and in one group: its share pages' opens from that group too
        slices.append(
            ({"group": group, "campaign": campaign}, lambda key, pk=campaign.pk: key[3] == pk and key[1] == group.pk)
        )
    for chosen, keep in slices:
        f = {
            "start": start,
            "end": end,
            "compare_start": start - timedelta(days=7),
            "compare_end": start - timedelta(1),
        }
        report = reports.funnel(data.shop.pk, {**f, "channel": "", "campaign": None, **chosen})
        expected = _summed(cells, start, end, keep)
        before = _summed(cells, f["compare_start"], f["compare_end"], keep)
        for row in report.table("funnel").rows:
            assert row["count"] == expected[row["key"]], row
            assert row["compare_count"] == before[row["key"]], row


def _paid_orders(shop):
    return list(
        Order.objects.filter(shop=shop, paid_at__isnull=False).prefetch_related("lines").order_by("paid_at", "pk")
    )


@SHOPS
@given(spec=shops, window=st.integers(1, 30))
def test_repeat_rates_intervals_and_reminders_equal_the_orders(spec, window):
    data = _build(spec)
    start, end = _range(data, random.Random(spec["seed"]))
    first, last = start.replace(day=1), end.replace(day=1)  # the figures are for whole months
    orders = _paid_orders(data.shop)
    per = {"shop": Counter(), "group": Counter(), "product": Counter(), "month": Counter()}
    history = defaultdict(list)  # (member, product) -> paid_at of each order containing it
    gaps, repeat_orders, reminded = defaultdict(list), Counter(), Counter()
    reminders = list(RepurchaseReminder.objects.filter(shop=data.shop))
    for o in orders:
        month = local_day(o.paid_at).replace(day=1)
        inside = first <= month <= last
        if inside:
            per["shop"][(data.shop.pk, o.member_id)] += 1
            per["group"][(o.group_id, o.member_id)] += 1
            per["month"][(month, o.member_id)] += 1
        for product in {line.product_id for line in o.lines.all()}:
            before = history[(o.member_id, product)]
            if inside:
                per["product"][(product, o.member_id)] += 1
                if before:
                    gaps[product].append((local_day(o.paid_at) - local_day(before[-1])).days)
                    repeat_orders[product] += 1
                    sent = [
                        r.sent_at
                        for r in reminders
                        if r.member_id == o.member_id
                        and r.product_id == product
                        and before[-1] < r.sent_at <= o.paid_at
                    ]
                    if sent and o.paid_at - max(sent) <= timedelta(days=window):
                        reminded[product] += 1
            before.append(o.paid_at)

    def buyers(counter):
        found = defaultdict(lambda: [0, 0])
        for (key, _member), n in counter.items():
            found[key][0] += 1
            found[key][1] += n >= 2
        return {key: tuple(v) for key, v in found.items()}

    for by in ("shop", "group", "month"):
        got = {r["key"]: (r["buyers"], r["repeaters"]) for r in selectors.repeat_by(data.shop.pk, start, end, by)}
        assert got == buyers(per[by]), by
    products = {r["product_id"]: r for r in selectors.repeat_by_product(data.shop.pk, start, end, window)}
    assert {k: (r["buyers"], r["repeaters"]) for k, r in products.items()} == buyers(per["product"])
    for product, row in products.items():
        assert row["repeat_orders"] == repeat_orders[product]
        assert row["reminded_orders"] == reminded[product]
        if gaps[product]:
            assert row["median_days"] == statistics.median(gaps[product])
        else:
            assert row["median_days"] is None


@SHOPS
@given(spec=shops, weeks=st.integers(1, 8))
def test_cohort_cells_equal_the_members_weeks(spec, weeks):
    data = _build(spec)
    start, end = data.start.date(), timezone.localdate()
    this_week = week_of(timezone.localdate())
    group = data.groups[0]

    def week(at):
        return week_of(local_day(at))

    # The shop, by join week, retained by a paid order.
    joined, ordered = {}, defaultdict(set)
    for m in Membership.objects.filter(group__shop=data.shop, first_joined_at__isnull=False):
        joined[m.user_id] = min(joined.get(m.user_id, week(m.first_joined_at)), week(m.first_joined_at))
    for o in Order.objects.filter(shop=data.shop, paid_at__isnull=False):
        ordered[o.member_id].add(week(o.paid_at))
    # One group, by first-order week in it, retained by any activity in it.
    first_order, active = {}, defaultdict(set)
    for o in Order.objects.filter(group=group, paid_at__isnull=False):
        first_order[o.member_id] = min(first_order.get(o.member_id, week(o.paid_at)), week(o.paid_at))
    for a in MemberActivity.objects.filter(group=group).exclude(kind=ActivityKind.MESSAGE_RECEIVED):
        active[a.user_id].add(week(a.at))

    def expected(starts, retained):
        cohorts = defaultdict(list)
        for member, c in starts.items():
            if week_of(start) <= c <= week_of(end):
                cohorts[c].append(member)
        return [
            {
                "cohort": c,
                "size": len(members),
                "retained": [
                    sum(c + timedelta(weeks=k) in retained[m] for m in members)
                    if c + timedelta(weeks=k) <= this_week
                    else None
                    for k in range(weeks)
                ],
            }
            for c, members in sorted(cohorts.items())
        ]

    shop_wide = selectors.cohorts(data.shop.pk, start, end, group_id=None, basis="join", measure="order", weeks=weeks)
    assert shop_wide == expected(joined, ordered)
    in_group = selectors.cohorts(
        data.shop.pk, start, end, group_id=group.pk, basis="first_order", measure="activity", weeks=weeks
    )
    assert in_group == expected(first_order, active)


@SHOPS
@given(spec=shops)
def test_campaign_roi_equals_its_orders_refunds_subsidies_coupons_rewards_points_gifts_and_prizes(spec):
    data = _build(spec)
    start, end = _range(data, random.Random(spec["seed"]))
    cells = shopdata.direct_daily(data.shop)
    report = reports.campaign_roi(data.shop.pk, {"start": start, "end": end, "type": ""})
    rows = {row["campaign_id"]: row for row in report.table("roi").rows}
    costs = {row["campaign_id"]: row for row in report.table("costs").rows}
    campaigns = [*data.campaigns, data.coupon_template]
    running = [c for c in campaigns if local_day(c.starts_at) <= end and local_day(c.ends_at) >= start]
    assert set(rows) == set(costs) == {c.pk for c in running}
    for campaign in running:
        sums = _summed(cells, start, end, lambda key, pk=campaign.pk: key[3] == pk)
        parts = {
            # free items are placed at a zero price: their worth is in the subsidy, shown apart
            "price_discount_fen": sums["subsidy_fen"] - sums["free_item_cost_fen"],
            "coupon_discount_fen": sums["coupon_discount_fen"],
            "tier_refunds_fen": sums["tier_refunds_fen"],
            "reward_cost_fen": sums["reward_cost_fen"],
            "points_cost_fen": sums["points_cost_fen"],
            "free_item_cost_fen": sums["free_item_cost_fen"],
            "prize_cost_fen": sums["prize_cost_fen"],
            "cash_prize_cost_fen": sums["cash_prize_cost_fen"],
        }
        cost = sum(parts.values())
        net = sums["revenue_fen"] - sums["refunds_fen"] + sums["tier_refunds_fen"]
        row = rows[campaign.pk]
        assert (row["revenue_fen"], row["net_revenue_fen"], row["cost_fen"]) == (sums["revenue_fen"], net, cost)
        assert {key: costs[campaign.pk][key] for key in parts} == parts
        assert row["new_members"] == sums["new_members"] and row["paid_orders"] == sums["paid_orders"]
        assert row["gifts"] == sums["gifts"] and row["free_items"] == sums["free_items"]
        assert row["prizes"] == sums["prizes"]
        assert row["roi"] == ratio(net, cost)


def test_rates_are_percentages_of_the_whole_and_blank_without_one():
    assert rate(1, 3) == Decimal("33.3") and rate(2, 3) == Decimal("66.7") and rate(0, 0) is None
