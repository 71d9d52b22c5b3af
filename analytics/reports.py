"""The analytics figures, arranged as tables (analytics.tables) for the pages, the CSV exports and the API.

Each report reads through analytics.selectors only: the fact tables, plus the names of what they count.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign

from . import selectors
from .selectors import Slice
from .tables import Column, Report, Table, rate, ratio

# --- Funnel ----------------------------------------------------------------------------------------------

FUNNEL_STEPS = [
    ("link_opens", _("打开邀请链接")),
    ("signed_in_opens", _("已登录")),
    ("joins", _("入群")),
    ("first_orders", _("首单")),
    ("second_orders", _("第二单")),
    ("invitee_first_orders", _("邀请的好友下单")),
]


def _steps(sums: dict) -> list[int]:
    return [sums[key] for key, _label in FUNNEL_STEPS]


_FUNNEL_NOTE = _(
    "每一步是区间内发生的次数（不是同一批人）：打开和已登录按邀请链接和活动分享页计（打开时已登录，或打开后再登录），"
    "入群按首次入群计（也含运营直接拉入的）。"
)
_FUNNEL_CAMPAIGN_NOTE = _(
    "每一步是区间内发生的次数（不是同一批人）：打开和已登录按本活动的分享页计，"
    "入群按从本活动分享页来、一天内首次加入活动所在群的人计。"
)


def funnel(shop_id: int, f: dict) -> Report:
    campaign = f.get("campaign")
    where = dict(
        group_id=f["group"].pk if f.get("group") else None,
        channel=f.get("channel") or None,
        campaign_id=campaign.pk if campaign else None,
    )
    now = _steps(selectors.totals(shop_id, Slice(f["start"], f["end"], **where)))
    before = _steps(selectors.totals(shop_id, Slice(f["compare_start"], f["compare_end"], **where)))
    rows = []
    for i, (key, label) in enumerate(FUNNEL_STEPS):
        rows.append(
            {
                "step": str(label),
                "key": key,
                "count": now[i],
                "rate": rate(now[i], now[i - 1]) if i else None,
                "drop": now[i - 1] - now[i] if i else None,
                "compare_count": before[i],
                "compare_rate": rate(before[i], before[i - 1]) if i else None,
                "change": rate(now[i] - before[i], before[i]),
            }
        )
    steps = Table(
        key="funnel",
        title=_("转化漏斗"),
        columns=[
            Column("step", _("步骤"), "text"),
            Column("count", _("本期人次"), "int"),
            Column("rate", _("较上一步转化率"), "pct"),
            Column("drop", _("较上一步流失"), "int"),
            Column("compare_count", _("对比期人次"), "int"),
            Column("compare_rate", _("对比期转化率"), "pct"),
            Column("change", _("较对比期变化"), "pct"),
        ],
        rows=rows,
        chart={"type": "bar", "x": "step", "series": ["count", "compare_count"]},
        note=_FUNNEL_CAMPAIGN_NOTE if campaign else _FUNNEL_NOTE,
    )
    names = ["link_opens", "joins", "first_orders", "paid_orders", "revenue_fen"]
    days = selectors.daily(shop_id, Slice(f["start"], f["end"], **where), names)
    for day in days:
        day["repeat_orders"] = day["paid_orders"] - day["first_orders"]
    trend = Table(
        key="daily",
        title=_("每日走势"),
        columns=[
            Column("day", _("日期"), "date"),
            Column("link_opens", _("打开邀请链接"), "int"),
            Column("joins", _("入群"), "int"),
            Column("first_orders", _("首单"), "int"),
            Column("repeat_orders", _("复购订单"), "int"),
            Column("revenue_fen", _("成交额"), "fen"),
        ],
        rows=days,
        chart={"type": "line", "x": "day", "series": ["link_opens", "joins", "first_orders", "repeat_orders"]},
    )
    return Report([steps, trend])


# --- Repeat purchase ----------------------------------------------------------------------------------------


def _with_rate(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["rate"] = rate(row["repeaters"], row["buyers"])
    return rows


BUYER_COLUMNS = [
    Column("buyers", _("下单人数"), "int"),
    Column("repeaters", _("复购人数（≥2 单）"), "int"),
    Column("rate", _("复购率"), "pct"),
]


def repeat(shop_id: int, f: dict, groups: dict) -> Report:
    start, end, window = f["start"], f["end"], f["reminder_days"]
    overall = _with_rate(selectors.repeat_by(shop_id, start, end, "shop"))
    for row in overall:
        row["period"] = f"{start:%Y-%m} ~ {end:%Y-%m}"
    by_group = _with_rate(selectors.repeat_by(shop_id, start, end, "group"))
    for row in by_group:
        row["group"] = groups[row["key"]].name if row["key"] in groups else f"#{row['key']}"
    by_month = _with_rate(selectors.repeat_by(shop_id, start, end, "month"))
    for row in by_month:
        row["month"] = f"{row['key']:%Y-%m}"
    by_product = _with_rate(selectors.repeat_by_product(shop_id, start, end, window))
    for row in by_product:
        row["reminded_share"] = rate(row["reminded_orders"], row["repeat_orders"])
        row["median_days"] = round(row["median_days"], 1) if row["median_days"] is not None else None
    note = _(
        "复购率 = 区间内付款 ≥2 单的人数 ÷ 付款 ≥1 单的人数（退款的订单也计入下单）；区间按所跨的整月计。"
        "复购间隔按自然日计。"
    )
    return Report(
        [
            Table(
                "overall", _("全店复购率"), [Column("period", _("区间"), "text"), *BUYER_COLUMNS], overall, note=note
            ),
            Table(
                "by_group",
                _("各群复购率"),
                [Column("group", _("群"), "text"), *BUYER_COLUMNS],
                by_group,
                chart={"type": "bar", "x": "group", "series": ["rate"]},
            ),
            Table(
                "by_product",
                _("各商品复购"),
                [
                    Column("name", _("商品"), "text"),
                    *BUYER_COLUMNS,
                    Column("median_days", _("复购间隔中位数（天）"), "days"),
                    Column("usage_cycle_days", _("使用周期（天）"), "int"),
                    Column("repeat_orders", _("复购订单"), "int"),
                    Column("reminded_orders", _("提醒后 %(n)d 天内复购") % {"n": window}, "int"),
                    Column("reminded_share", _("提醒带来占比"), "pct"),
                ],
                by_product,
                chart={"type": "bar", "x": "name", "series": ["median_days", "usage_cycle_days"]},
            ),
            Table(
                "by_month",
                _("按月复购率"),
                [Column("month", _("月份"), "text"), *BUYER_COLUMNS],
                by_month,
                chart={"type": "line", "x": "month", "series": ["rate"]},
            ),
        ]
    )


# --- Cohorts -----------------------------------------------------------------------------------------------


def cohorts(shop_id: int, f: dict) -> Report:
    weeks = f["weeks"]
    found = selectors.cohorts(
        shop_id,
        f["start"],
        f["end"],
        group_id=f["group"].pk if f.get("group") else None,
        basis=f["basis"],
        measure=f["measure"],
        weeks=weeks,
    )
    rows = []
    for cohort in found:
        row = {"cohort": cohort["cohort"], "size": cohort["size"]}
        for k, kept in enumerate(cohort["retained"]):
            row[f"w{k}"] = rate(kept, cohort["size"]) if kept is not None else None
        rows.append(row)
    columns = [Column("cohort", _("分组周（周一）"), "date"), Column("size", _("人数"), "int")]
    columns += [Column(f"w{k}", _("第 %(k)d 周") % {"k": k}, "pct") for k in range(weeks)]
    note = _("第 0 周是分组当周；空白表示那一周还没到。")
    chart = {"type": "heatmap", "x": "cohort", "series": [f"w{k}" for k in range(weeks)]}
    return Report([Table("cohorts", _("同期群留存"), columns, rows, chart=chart, note=note)])


# --- Campaigns -----------------------------------------------------------------------------------------------


# A campaign's cost, by where it comes from (each from its own source table, see analytics.models.DailyFact).
# Free items are placed at a zero unit price, so their worth is part of the subsidy: it is shown apart from the
# campaign price's discount, never added twice.
COST_PARTS = [
    ("price_discount_fen", _("活动价优惠")),
    ("coupon_discount_fen", _("优惠券抵扣")),
    ("tier_refunds_fen", _("阶梯价差退款")),
    ("reward_cost_fen", _("推荐奖励")),
    ("points_cost_fen", _("积分奖励")),
    ("free_item_cost_fen", _("赠品与免费商品")),
    ("prize_cost_fen", _("实物奖品")),
    ("cash_prize_cost_fen", _("现金奖品")),
]


def campaign_cost(sums: dict) -> dict:
    """{part: fen} of a campaign's cost, and "cost_fen": their sum."""
    parts = {
        "price_discount_fen": sums["subsidy_fen"] - sums["free_item_cost_fen"],
        **{key: sums[key] for key, _label in COST_PARTS if key != "price_discount_fen"},
    }
    return {**parts, "cost_fen": sum(parts.values())}


def _roi_row(campaign: Campaign, sums: dict) -> dict:
    cost = campaign_cost(sums)
    # Tier price differences are a cost of the campaign, not sales lost: only other refunds reduce revenue.
    net = sums["revenue_fen"] - (sums["refunds_fen"] - sums["tier_refunds_fen"])
    return {
        "campaign_id": campaign.pk,
        "name": campaign.name,
        "type": str(campaign.get_type_display()),
        "state": str(campaign.get_state_display()),
        **sums,
        **cost,
        "other_refunds_fen": sums["refunds_fen"] - sums["tier_refunds_fen"],
        "net_revenue_fen": net,
        "roi": ratio(net, cost["cost_fen"]),
    }


ZERO_SUMS = dict.fromkeys(selectors.ROI_MEASURES, 0)

_ROI_NOTE = _(
    "投入产出比 = 净收入 ÷ 总成本。总成本 = 活动价优惠（拼团、砍价、助力价）+ 优惠券抵扣（活动发出的券，"
    "或券模板自己的券，在已付款订单上抵扣的金额；邀请双方得券也只在这里计，用了才算）+ 阶梯价差退款 "
    "+ 推荐奖励（佣金、赠品，按奖励金额）+ 积分奖励（按发放时的积分抵扣比例折算）"
    "+ 赠品与免费商品（0 元下单的活动商品，按规格价格）+ 实物奖品（无订单的待交付物品，按登记的价值）。"
)


def _cost_columns() -> list[Column]:
    return [Column(key, label, "fen") for key, label in COST_PARTS] + [Column("cost_fen", _("总成本"), "fen")]


def campaign_roi(shop_id: int, f: dict) -> Report:
    start, end = f["start"], f["end"]
    campaigns = selectors.campaigns_in_range(shop_id, start, end, f.get("type") or None)
    ids = [c.pk for c in campaigns]
    sums = selectors.campaign_totals(shop_id, ids, start, end)
    rows = [_roi_row(c, sums.get(c.pk, ZERO_SUMS)) for c in campaigns]
    roi = Table(
        "roi",
        _("活动投入产出"),
        [
            Column("name", _("活动"), "text"),
            Column("type", _("类型"), "text"),
            Column("state", _("状态"), "text"),
            Column("paid_orders", _("付款订单"), "int"),
            Column("revenue_fen", _("成交额"), "fen"),
            Column("other_refunds_fen", _("退款（不含价差）"), "fen"),
            Column("net_revenue_fen", _("净收入"), "fen"),
            Column("cost_fen", _("总成本"), "fen"),
            Column("roi", _("投入产出比"), "ratio"),
            Column("gifts", _("助力赠品（件）"), "int"),
            Column("free_items", _("免费商品（件）"), "int"),
            Column("prizes", _("实物奖品（件）"), "int"),
            Column("new_members", _("带来新成员"), "int"),
        ],
        rows,
        chart={"type": "bar", "x": "name", "series": ["net_revenue_fen", "cost_fen"]},
        note=_ROI_NOTE,
    )
    costs = Table(
        "costs",
        _("活动成本构成"),
        [Column("name", _("活动"), "text"), *_cost_columns()],
        rows,
        chart={"type": "bar", "x": "name", "series": [key for key, _label in COST_PARTS], "stack": True},
    )
    return Report([roi, costs, _decay(shop_id, campaigns, start, end)])


def _decay(shop_id: int, campaigns: list[Campaign], start, end) -> Table:
    """Each campaign's sales by day of its life, side by side: how fast its pull fades."""
    days = selectors.campaign_days(shop_id, [c.pk for c in campaigns], start, end)
    first_day = {c.pk: timezone.localdate(c.starts_at) for c in campaigns}
    by_index: dict[int, dict] = {}
    for row in days:
        index = (row["day"] - first_day[row["campaign_id"]]).days
        if index < 0:
            continue
        by_index.setdefault(index, {"day_index": index + 1})[f"c{row['campaign_id']}"] = row["revenue_fen"]
    rows = [by_index[i] for i in sorted(by_index)]
    for row in rows:
        for c in campaigns:
            row.setdefault(f"c{c.pk}", 0)
    columns = [Column("day_index", _("活动第几天"), "int")]
    columns += [Column(f"c{c.pk}", c.name, "fen") for c in campaigns]
    return Table(
        "decay",
        _("活动衰减：每日成交额（按活动第几天对齐）"),
        columns,
        rows,
        chart={"type": "line", "x": "day_index", "series": [f"c{c.pk}" for c in campaigns]},
    )


def campaign_daily(shop_id: int, campaign: Campaign, f: dict) -> Report:
    start = max(f["start"], timezone.localdate(campaign.starts_at))
    days = selectors.campaign_days(shop_id, [campaign.pk], start, f["end"])
    sums = dict(ZERO_SUMS)
    for row in days:
        row["day_index"] = (row["day"] - timezone.localdate(campaign.starts_at)).days + 1
        for key in sums:
            sums[key] += row[key]
    summary = _roi_row(campaign, sums)
    return Report(
        [
            Table(
                "summary",
                _("投入产出"),
                [
                    Column("paid_orders", _("付款订单"), "int"),
                    Column("revenue_fen", _("成交额"), "fen"),
                    Column("net_revenue_fen", _("净收入"), "fen"),
                    Column("cost_fen", _("总成本"), "fen"),
                    Column("roi", _("投入产出比"), "ratio"),
                    Column("new_members", _("带来新成员"), "int"),
                ],
                [summary],
            ),
            Table("costs", _("成本构成"), _cost_columns(), [summary]),
            Table(
                "daily",
                _("每日拉动"),
                [
                    Column("day", _("日期"), "date"),
                    Column("day_index", _("活动第几天"), "int"),
                    Column("campaign_acts", _("参与次数"), "int"),
                    Column("new_members", _("新成员"), "int"),
                    Column("paid_orders", _("付款订单"), "int"),
                    Column("revenue_fen", _("成交额"), "fen"),
                ],
                days,
                chart={"type": "line", "x": "day", "series": ["campaign_acts", "new_members", "paid_orders"]},
            ),
        ]
    )


# --- Group ranking ------------------------------------------------------------------------------------------

HEALTH_WEEKS = 8
TOP_GROUPS = 5


def group_ranking(shop_id: int, f: dict, groups: dict) -> Report:
    start, end = f["start"], f["end"]
    totals = selectors.group_totals(shop_id, start, end)
    repeats = {row["key"]: row for row in selectors.repeat_by(shop_id, start, end, "group")}
    history = selectors.health_history(shop_id, HEALTH_WEEKS)
    weekly: dict[int, list] = {}
    for snap in history:
        weekly.setdefault(snap.group_id, []).append(snap)
    rows = []
    for pk, group in groups.items():
        sums = totals.get(pk, {})
        buyers = repeats.get(pk, {"buyers": 0, "repeaters": 0})
        snaps = weekly.get(pk, [])
        trend = snaps[-1].active_members - snaps[-2].active_members if len(snaps) >= 2 else None
        rows.append(
            {
                "group_id": pk,
                "group": group.name,
                "state": str(group.get_state_display()),
                "revenue_fen": sums.get("revenue_fen", 0),
                "paid_orders": sums.get("paid_orders", 0),
                "active_members": sums.get("active_members", 0),
                "joins": sums.get("joins", 0),
                "check_ins": sums.get("check_ins", 0),
                "posts": sums.get("posts", 0),
                "repeat_rate": rate(buyers["repeaters"], buyers["buyers"]),
                "trend": trend,
            }
        )
    key = {"revenue": "revenue_fen", "activity": "active_members", "repeat_rate": "repeat_rate", "trend": "trend"}
    sort = key[f["sort"]]
    rows.sort(key=lambda r: (r[sort] is not None, r[sort] or 0, -r["group_id"]), reverse=True)
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    ranking = Table(
        "ranking",
        _("社群排行"),
        [
            Column("rank", _("名次"), "int"),
            Column("group", _("群"), "text"),
            Column("state", _("状态"), "text"),
            Column("revenue_fen", _("成交额"), "fen"),
            Column("paid_orders", _("付款订单"), "int"),
            Column("active_members", _("活跃人天"), "int"),
            Column("joins", _("入群"), "int"),
            Column("check_ins", _("打卡"), "int"),
            Column("posts", _("发帖"), "int"),
            Column("repeat_rate", _("复购率"), "pct"),
            Column("trend", _("活跃成员周变化"), "int"),
        ],
        rows,
        chart={"type": "bar", "x": "group", "series": [sort]},
        note=_("活跃人天 = 每天有互动的成员数之和；活跃成员周变化取最近两份健康周报之差；复购率按区间所跨的整月计。"),
    )
    top = [row["group_id"] for row in rows[:TOP_GROUPS]]
    by_week: dict = {}
    for snap in history:
        if snap.group_id in top:
            by_week.setdefault(snap.week_start, {"week": snap.week_start})[f"g{snap.group_id}"] = snap.active_members
    health = Table(
        "health",
        _("健康周报：前五名群的活跃成员"),
        [Column("week", _("周（周一）"), "date"), *[Column(f"g{pk}", groups[pk].name, "int") for pk in top]],
        [by_week[w] for w in sorted(by_week)],
        chart={"type": "line", "x": "week", "series": [f"g{pk}" for pk in top]},
    )
    return Report([ranking, health])
