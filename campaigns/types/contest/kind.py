"""比 Contests (排行榜比赛): members (or groups) race on one metric over the campaign's period for prize tiers;
at the end the ranking is frozen and the prizes are granted, exactly once.

Rules and where each is decided:
- the metric is counted from the referral events (PostgreSQL, the truth the leaderboards rebuild from) within
  [starts_at, ends_at): qualified invites, sales brought (the invitees' paid orders, in fen), paid orders
  brought, check-in days; group-vs-group contests rank the campaign's groups by their members' activity or
  their paid sales. The ranking rule is the leaderboards' own (`referrals.leaderboards.standings`): higher
  first, on a tie whoever reached the score first; a member below the minimum is shown but wins nothing;
- scope: the whole shop, the campaign's groups (the engine's groups and series) or members with some tags;
- the live board is that ranking, cached in Redis for a minute (`LIVE_SECONDS`); "my rank" and the gap to the
  next prize read it;
- settlement (`settle`, the periodic job `campaigns.tasks.contest_jobs`, or an operator's 立即结算 after the
  end): one transaction inserts the contest's ContestSettlement row first (ON CONFLICT DO NOTHING: a second
  or concurrent run finds it and does nothing more), freezes the ranking into ContestEntry rows and writes
  every prize owed as a ContestPrize under its key; a winner with an open fraud flag has their prizes held;
- a prize is granted by one conditional move pending → granted (the row locked with state = pending), through
  the reward machinery under the prize's key (`contest:<campaign>:<rank>:<tier>:<member>`): a coupon by
  `grant_coupon`, points into the points ledger, a physical item into the fulfilment queue (source
  "campaign:<id>", to the contest's pickup point), cash into the commission ledger. Each of those is once per
  key too, so a retry after a crash gives nothing twice;
- an operator reviews a held prize (release → granted, or withhold) and retries a failed one; each is audited.

What a contest's prizes cost (campaign ROI): the granted ContestPrize rows of the campaign, `cost` in yuan
(cash, the points at the shop's points-per-yuan rate at settlement, an item's stated cost, 0 for a coupon).
The machinery's own rows name the contest too: the points entry (campaign_id, worth), the owed item (source
"campaign:<id>", worth), the coupon (issuer_campaign_id; its cost is the discount of the order that uses it)
and the commission entry (its key, "contest:<campaign id>:…").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import referral_adapter, registry
from campaigns.models import (
    Campaign,
    CampaignState,
    CampaignType,
    ContestEntry,
    ContestPrize,
    ContestSettlement,
    PrizeKind,
    PrizeState,
)
from campaigns.types.base import CampaignKind
from groups.models import ActivityKind, Group, MemberActivity, Membership, MembershipStatus, Tag
from orders.lifecycle import PAID_STATES
from orders.models import Order, PickupPoint
from referrals import leaderboards as lb
from referrals.models import EventKind, ReferralEvent
from shops import audit

from .choices import Metric, PrizeTo, Scope

LIVE_SECONDS = 60
MAX_TIERS = 20
MAX_RANK = 1000
MAX_POINTS = 1_000_000
MAX_CASH = Decimal("100000")
MAX_RULES = 2000
SHOWN = 50
CENT = Decimal("0.01")


KIND_WORDS = {
    "points": PrizeKind.POINTS,
    "积分": PrizeKind.POINTS,
    "coupon": PrizeKind.COUPON,
    "券": PrizeKind.COUPON,
    "优惠券": PrizeKind.COUPON,
    "item": PrizeKind.ITEM,
    "实物": PrizeKind.ITEM,
    "cash": PrizeKind.CASH,
    "现金": PrizeKind.CASH,
}


class ContestRefused(Exception):
    """An operator's act on a prize that cannot happen (the message is for people)."""


# --- Settings ---------------------------------------------------------------------------------------------


def _money(text: str) -> Decimal | None:
    try:
        value = Decimal(str(text).strip()).quantize(CENT)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _tier_value(kind: str, rest: list[str], *, shop, where: str) -> dict:
    """The prize part of one tier line (after the ranks and the kind)."""
    if kind == PrizeKind.POINTS:
        if not (rest[0].isascii() and rest[0].isdigit()) or not 1 <= int(rest[0]) <= MAX_POINTS:
            raise ValueError(where + _("积分须是 1–%(max)d 的整数。") % {"max": MAX_POINTS})
        return {"points": int(rest[0])}
    if kind == PrizeKind.CASH:
        amount = _money(rest[0])
        if amount is None or not Decimal("0.01") <= amount <= MAX_CASH:
            raise ValueError(where + _("现金须在 0.01–%(max)s 元之间。") % {"max": MAX_CASH})
        return {"amount": str(amount)}
    if kind == PrizeKind.COUPON:
        name = " ".join(rest)
        templates = Campaign.objects.filter(shop=shop, type=CampaignType.COUPON).exclude(state=CampaignState.CANCELLED)
        if name.startswith("#") and name[1:].isdigit():
            found = templates.filter(pk=int(name[1:])).first()
        else:
            found = templates.filter(name=name).order_by("-pk").first()
        if found is None:
            raise ValueError(where + _("找不到本店名为「%(name)s」的优惠券模板。") % {"name": name})
        return {"template": found.pk, "label": found.name}
    cost = _money(rest[-1]) if len(rest) > 1 else None
    if cost is not None and not Decimal("0") <= cost <= MAX_CASH:
        raise ValueError(where + _("实物成本须在 0–%(max)s 元之间。") % {"max": MAX_CASH})
    return {"label": " ".join(rest[:-1] if cost is not None else rest)[:60], "cost": str(cost or Decimal("0.00"))}


def _tier_line(parts: list[str], *, shop, where: str) -> dict:
    if len(parts) < 3 or parts[1].lower() not in KIND_WORDS:
        raise ValueError(where + _("请按「名次 类型 奖品」填写，类型为 积分、券、实物 或 现金。"))
    low, _sep, high = parts[0].partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ValueError(where + _("名次请填写数字，例如 1 或 2-3。")) from None
    if not 1 <= first <= last <= MAX_RANK:
        raise ValueError(where + _("名次须在 1–%(max)d 之间，且前小后大。") % {"max": MAX_RANK})
    kind = KIND_WORDS[parts[1].lower()]
    return {"from": first, "to": last, "kind": kind, **_tier_value(kind, parts[2:], shop=shop, where=where)}


def parse_tiers(text, *, shop) -> list[dict]:
    """Prize tiers, one a line: "<rank>[-<rank>] <kind> <value> [cost]" — e.g. "1 现金 100", "2-3 积分 500",
    "4-10 券 满100减20" (a coupon template of the shop, by name or #id), "1 实物 蓝牙音箱 199" (the item and
    its cost in yuan). Returns [{from, to, kind, …}]; ValueError with a message for people when malformed.
    A list is taken as already parsed (stored settings)."""
    if isinstance(text, list):
        return text
    tiers = []
    for number, line in enumerate(str(text or "").replace("\r", "").split("\n"), start=1):
        parts = line.replace("，", " ").replace("：", " ").split()
        if parts:
            tiers.append(_tier_line(parts, shop=shop, where=_("第 %(n)d 行：") % {"n": number}))
    if len(tiers) > MAX_TIERS:
        raise ValueError(_("最多设置 %(n)d 档奖品。") % {"n": MAX_TIERS})
    return tiers


def _clean_tags(raw, *, shop, errors: dict) -> list[int]:
    """Tag names (or ids) of the shop, comma-separated, as ids; an unknown one is an error naming it."""
    if isinstance(raw, list):
        wanted = [str(t) for t in raw]
    else:
        wanted = [t.strip() for t in str(raw or "").replace("，", ",").split(",") if t.strip()]
    tags = Tag.objects.filter(shop=shop)
    found = dict(tags.filter(name__in=wanted).values_list("name", "pk"))
    digits = [int(n) for n in wanted if n.isdigit()]
    found.update({str(pk): pk for pk in tags.filter(pk__in=digits).values_list("pk", flat=True)})
    missing = [n for n in wanted if n not in found]
    if not wanted or missing:
        errors["tags"] = _("请填写本店已有的标签名，用逗号分隔。") + (f"（{', '.join(missing)}）" if missing else "")
    return sorted({found[n] for n in wanted if n in found})


def _clean_scope(settings: dict, campaign_fields: dict, metric: str, errors: dict) -> tuple[str, list[int]]:
    scope = settings.get("scope") or Scope.SHOP
    tag_ids: list[int] = []
    if scope not in dict(Scope.CHOICES):
        errors["scope"] = _("请选择比赛范围。")
    elif scope == Scope.GROUPS and campaign_fields.get("all_groups", True):
        errors["scope"] = _("范围为「活动所选的群」时，请取消「本店所有群」并选择参赛的群。")
    elif scope == Scope.TAGS:
        tag_ids = _clean_tags(settings.get("tags"), shop=campaign_fields.get("shop"), errors=errors)
        if metric in Metric.GROUPS:
            errors["scope"] = _("群与群比拼的范围只能是全店或活动所选的群。")
    return scope, tag_ids


def _clean_minimum(settings: dict, metric: str, errors: dict) -> Decimal:
    raw = settings.get("minimum")
    minimum = _money("0" if raw in (None, "") else raw)
    if minimum is None or not Decimal("0") <= minimum <= Decimal("100000000"):
        errors["minimum"] = _("最低门槛须是 0 或正数。")
        return Decimal("0")
    if metric not in Metric.MONEY and minimum != minimum.to_integral_value():
        errors["minimum"] = _("这个指标的门槛须是整数。")
    return minimum


def _clean_pickup(settings: dict, tiers: list[dict], shop, errors: dict) -> int | None:
    raw = str(settings.get("pickup_point") or "").strip()
    if not raw:
        if any(t["kind"] == PrizeKind.ITEM for t in tiers):
            errors["pickup_point"] = _("有实物奖品时，请填写领奖的自提点。")
        return None
    points = PickupPoint.objects.filter(shop=shop, is_active=True)
    found = points.filter(pk=int(raw)).first() if raw.isdigit() else points.filter(name=raw).order_by("pk").first()
    if found is None:
        errors["pickup_point"] = _("找不到本店启用中的这个自提点。")
        return None
    return found.pk


def clean_contest_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """metric, scope ("shop", "groups": the campaign's groups, "tags": members with one of `tags`, names
    comma-separated), tiers (parse_tiers; at least one), minimum (the least score that wins, in the metric's
    unit: yuan for sales), prize_to (group contests: "owner" or "members"), pickup_point (where item prizes
    are collected: a pickup point of the shop, by name or id; needed when a tier is an item), rules (the
    landing page's rules text)."""
    shop = campaign_fields.get("shop")
    errors: dict[str, str] = {}
    metric = settings.get("metric") or Metric.QUALIFIED
    if metric not in dict(Metric.CHOICES):
        errors["metric"] = _("请选择排行指标。")
    scope, tag_ids = _clean_scope(settings, campaign_fields, metric, errors)
    try:
        tiers = parse_tiers(settings.get("tiers"), shop=shop)
    except ValueError as exc:
        tiers = []
        errors["tiers"] = str(exc)
    else:
        if not tiers:
            errors["tiers"] = _("请至少设置一档奖品，例如「1 现金 100」。")
    minimum = _clean_minimum(settings, metric, errors)
    prize_to = settings.get("prize_to") or PrizeTo.OWNER
    if prize_to not in dict(PrizeTo.CHOICES):
        errors["prize_to"] = _("请选择群比拼的奖品发给谁。")
    pickup = _clean_pickup(settings, tiers, shop, errors)
    rules = str(settings.get("rules") or "").strip()
    if len(rules) > MAX_RULES:
        errors["rules"] = _("比赛规则不能超过 %(n)d 字。") % {"n": MAX_RULES}
    if errors:
        raise ValidationError(errors)
    return {
        "metric": metric,
        "scope": scope,
        "tags": tag_ids,
        "tiers": tiers,
        "minimum": str(minimum),
        "prize_to": prize_to,
        "pickup_point": pickup,
        "rules": rules,
    }


@dataclass(frozen=True)
class Rules:
    metric: str
    scope: str
    tags: list
    tiers: list
    minimum: Decimal
    prize_to: str
    pickup_point: int | None
    rules: str

    @classmethod
    def of(cls, campaign: Campaign) -> "Rules":
        s = campaign.settings or {}
        return cls(
            metric=s.get("metric", Metric.QUALIFIED),
            scope=s.get("scope", Scope.SHOP),
            tags=list(s.get("tags") or []),
            tiers=list(s.get("tiers") or []),
            minimum=Decimal(str(s.get("minimum") or "0")),
            prize_to=s.get("prize_to", PrizeTo.OWNER),
            pickup_point=s.get("pickup_point"),
            rules=s.get("rules", ""),
        )

    @property
    def for_groups(self) -> bool:
        return self.metric in Metric.GROUPS

    @property
    def is_money(self) -> bool:
        return self.metric in Metric.MONEY

    @property
    def minimum_raw(self) -> int:
        """The minimum in the score's unit (fen for money)."""
        return int(self.minimum * 100) if self.is_money else int(self.minimum)

    @property
    def prize_ranks(self) -> int:
        return max((t["to"] for t in self.tiers), default=0)

    def display(self, raw: int):
        return (Decimal(raw) / 100).quantize(CENT) if self.is_money else int(raw)

    def metric_label(self) -> str:
        return str(dict(Metric.CHOICES)[self.metric])


def tier_words(tier: dict) -> str:
    """A tier's prize in words: "500 积分", "¥100 现金", "优惠券「满100减20」", "蓝牙音箱"."""
    kind = tier["kind"]
    if kind == PrizeKind.POINTS:
        return _("%(n)d 积分") % {"n": tier["points"]}
    if kind == PrizeKind.CASH:
        return _("¥%(amount)s 现金") % {"amount": tier["amount"]}
    if kind == PrizeKind.COUPON:
        return _("优惠券「%(name)s」") % {"name": tier.get("label", "")}
    return tier.get("label", "")


def ranks_words(tier: dict) -> str:
    if tier["from"] == tier["to"]:
        return _("第 %(n)d 名") % {"n": tier["from"]}
    return _("第 %(a)d–%(b)d 名") % {"a": tier["from"], "b": tier["to"]}


# --- The ranking ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rank: int
    member_id: int | None
    group_id: int | None
    name: str
    score: int  # the metric's raw value (fen for money)
    reached_at: datetime
    qualified: bool


class _Race:
    """A member contest as the leaderboards' truth function reads a board: its live events and whether the
    value is money. Ranking through `lb.standings` keeps the boards' tie rule in one place."""

    def __init__(self, campaign: Campaign, rules: Rules, until: datetime):
        self.campaign, self.rules, self.until = campaign, rules, until
        self.is_money = rules.is_money

    def events(self):
        campaign = self.campaign
        qs = ReferralEvent.objects.filter(
            shop_id=campaign.shop_id,
            kind__in=Metric.KINDS[self.rules.metric],
            voided_at__isnull=True,
            occurred_at__gte=campaign.starts_at,
            occurred_at__lt=self.until,
        )
        if self.rules.metric == Metric.SALES:
            qs = qs.filter(amount__gt=0)
        if self.rules.scope == Scope.GROUPS:
            qs = qs.filter(group_id__in=scope_group_ids(campaign))
        elif self.rules.scope == Scope.TAGS:
            tagged = Membership.objects.filter(group__shop_id=campaign.shop_id, tags__in=self.rules.tags).values(
                "user_id"
            )
            qs = qs.filter(inviter_id__in=tagged)
        return qs


def scope_group_ids(campaign: Campaign):
    """The contest's groups as a subquery: every group of the shop, or the campaign's groups and series'."""
    groups = Group.objects.filter(shop_id=campaign.shop_id)
    if not campaign.all_groups:
        groups = groups.filter(Q(pk__in=campaign.groups.values("pk")) | Q(series__in=campaign.series.values("pk")))
    return groups.values("pk")


def _member_rows(campaign: Campaign, rules: Rules, until: datetime) -> list[Row]:
    ranked = lb.standings(_Race(campaign, rules, until))
    from referrals.leaderboards.truth import public_names

    names = public_names([s.user_id for s in ranked[:MAX_RANK]])
    minimum = rules.minimum_raw
    return [
        Row(
            rank=i + 1,
            member_id=s.user_id,
            group_id=None,
            name=names.get(s.user_id, ""),
            score=s.raw,
            reached_at=s.last_at,
            qualified=s.raw >= max(minimum, 1),
        )
        for i, s in enumerate(ranked[:MAX_RANK])
    ]


PASSIVE_ACTIVITY = (ActivityKind.MESSAGE_RECEIVED, ActivityKind.MESSAGE_OPENED)


def _group_rows(campaign: Campaign, rules: Rules, until: datetime) -> list[Row]:
    """Groups ranked by their members' own acts (joins, orders, campaign acts, check-ins, posts; not messages
    received) or by their paid sales within the period; the staff's acts never count."""
    groups = scope_group_ids(campaign)
    if rules.metric == Metric.GROUP_ACTIVITY:
        rows = (
            MemberActivity.objects.filter(group_id__in=groups, at__gte=campaign.starts_at, at__lt=until)
            .exclude(kind__in=PASSIVE_ACTIVITY)
            .exclude(user__operator_seats__shop_id=campaign.shop_id)
            .values("group_id")
            .annotate(value=Count("pk"), last=Max("at"))
        )
        totals = [(r["group_id"], int(r["value"]), r["last"]) for r in rows]
    else:
        rows = (
            Order.objects.filter(
                group_id__in=groups, state__in=PAID_STATES, paid_at__gte=campaign.starts_at, paid_at__lt=until
            )
            .values("group_id")
            .annotate(value=Sum("total"), last=Max("paid_at"))
        )
        totals = [(r["group_id"], int(r["value"] * 100), r["last"]) for r in rows if r["value"]]
    totals.sort(key=lambda t: (-t[1], t[2], t[0]))
    totals = totals[:MAX_RANK]
    names = dict(Group.objects.filter(pk__in=[t[0] for t in totals]).values_list("pk", "name"))
    minimum = rules.minimum_raw
    return [
        Row(
            rank=i + 1,
            member_id=None,
            group_id=group_id,
            name=names.get(group_id, ""),
            score=value,
            reached_at=last,
            qualified=value >= max(minimum, 1),
        )
        for i, (group_id, value, last) in enumerate(totals)
    ]


def compute_ranking(campaign: Campaign, *, until: datetime | None = None) -> list[Row]:
    """The contest's ranking from PostgreSQL, counting what happened from the start until `until` (at most the
    end): the truth the live board caches and the settlement freezes."""
    rules = Rules.of(campaign)
    until = min(until or timezone.now(), campaign.ends_at)
    if until <= campaign.starts_at:
        return []
    if rules.for_groups:
        return _group_rows(campaign, rules, until)
    return _member_rows(campaign, rules, until)


def _cache_key(campaign: Campaign) -> str:
    return f"contest:board:{campaign.pk}:{campaign.updated_at.timestamp():.0f}"


def live_ranking(campaign: Campaign) -> list[Row]:
    """The live board: the ranking cached for LIVE_SECONDS (so a busy landing page costs one SQL ranking a
    minute); computed fresh when the cache is down."""
    key = _cache_key(campaign)
    try:
        cached = cache.get(key)
    except Exception:  # the cache is a speed-up: a Redis outage shows the truth instead
        cached = None
    if cached is not None:
        return cached
    rows = compute_ranking(campaign)
    try:
        cache.set(key, rows, LIVE_SECONDS)
    except Exception:  # noqa: S110 - as above: the page still has its rows
        pass
    return rows


def frozen_ranking(campaign: Campaign) -> list[Row]:
    """The final ranking as the settlement stored it (one query)."""
    entries = ContestEntry.objects.filter(campaign=campaign).order_by("rank")
    return [
        Row(
            rank=e.rank,
            member_id=e.member_id,
            group_id=e.group_id,
            name=e.name,
            score=e.score,
            reached_at=e.reached_at,
            qualified=e.qualified,
        )
        for e in entries
    ]


def is_settled(campaign: Campaign) -> bool:
    return ContestSettlement.objects.filter(campaign=campaign).exists()


def board(campaign: Campaign) -> tuple[list[Row], bool]:
    """(rows, final): the frozen ranking once settled, else the live one."""
    if is_settled(campaign):
        return frozen_ranking(campaign), True
    return live_ranking(campaign), False


def my_row(rows: list[Row], *, member_id: int | None = None, group_ids=()) -> Row | None:
    for row in rows:
        if (member_id is not None and row.member_id == member_id) or (row.group_id and row.group_id in group_ids):
            return row
    return None


def gap_to_next_prize(rules: Rules, rows: list[Row], mine: Row | None) -> dict | None:
    """How far the member (or their group) is from the next better prize: {rank, tier, gap (display units)},
    or None when already at the top prize or there are no prizes. To pass the row at rank R takes one more
    than its score (on a tie the earlier reacher stays ahead); the contest's minimum applies too."""
    if not rules.tiers:
        return None
    current_rank = mine.rank if mine is not None else None
    score = mine.score if mine is not None else 0
    ends = sorted({t["to"] for t in rules.tiers})
    better = [end for end in ends if current_rank is None or end < current_rank]
    if not better:
        return None
    target = better[-1]
    needed = max(rules.minimum_raw, 1)
    if len(rows) >= target and rows[target - 1] is not mine:
        needed = max(needed, rows[target - 1].score + 1)
    gap = max(needed - score, 0)
    tier = next(t for t in rules.tiers if t["from"] <= target <= t["to"])
    return {"rank": target, "tier": tier_words(tier), "gap": rules.display(gap) if rules.is_money else gap}


# --- Settlement -------------------------------------------------------------------------------------------


def prize_key(campaign_id: int, rank: int, tier: int, member_id: int) -> str:
    """The prize's idempotency key: the same one for the coupon grant, the points entry, the fulfilment item
    and the commission entry, and it names the contest (campaign id first) for campaign ROI."""
    return f"contest:{campaign_id}:{rank}:{tier}:{member_id}"


def _claim_settlement(campaign: Campaign, now: datetime) -> bool:
    """Insert the contest's settlement row; False when it exists (settled, or being settled by a concurrent
    run, whose commit this waits for). The row is the guard that freezes the ranking once."""
    table = ContestSettlement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, settled_at, entries, prizes) VALUES (%s, %s, 0, 0) "
            "ON CONFLICT (campaign_id) DO NOTHING RETURNING id",
            [campaign.pk, now],
        )
        return cursor.fetchone() is not None


def _recipients(rules: Rules, entries: list[ContestEntry]) -> dict[int, list[int]]:
    """Who gets an entry's prizes: the member; for a group, its owner (群主) or each active member."""
    if not rules.for_groups:
        return {e.pk: [e.member_id] for e in entries}
    group_ids = [e.group_id for e in entries]
    if rules.prize_to == PrizeTo.MEMBERS:
        members: dict[int, list[int]] = {}
        for group_id, user_id in (
            Membership.objects.filter(group_id__in=group_ids, status=MembershipStatus.ACTIVE)
            .order_by("group_id", "user_id")
            .values_list("group_id", "user_id")
        ):
            members.setdefault(group_id, []).append(user_id)
    else:
        owners = dict(Group.objects.filter(pk__in=group_ids, owner__isnull=False).values_list("pk", "owner_id"))
        members = {group_id: [owner] for group_id, owner in owners.items()}
    return {e.pk: members.get(e.group_id, []) for e in entries}


def _points_cost(shop_id: int, points: int) -> Decimal:
    """The points' worth at the shop's rate (what the points ledger records on the entry too)."""
    from referrals.points import worth_of

    return worth_of(shop_id=shop_id, points=points)


def _ended_at(campaign: Campaign, now: datetime) -> datetime:
    """When the contest ended: its end time, or the moment an operator ended it early (what came after
    does not count)."""
    ended = (
        campaign.transitions.filter(to_state=CampaignState.ENDED).order_by("-at").values_list("at", flat=True).first()
    )
    return min(ended or now, campaign.ends_at)


def _freeze(campaign: Campaign, now: datetime) -> tuple[int, int]:
    """Inside the settlement's transaction: the final ranking into ContestEntry rows and every prize owed into
    ContestPrize rows (held for members with an open fraud flag). Returns (entries, prizes)."""
    rules = Rules.of(campaign)
    rows = compute_ranking(campaign, until=_ended_at(campaign, now))
    entries = ContestEntry.objects.bulk_create(
        [
            ContestEntry(
                campaign=campaign,
                rank=r.rank,
                member_id=r.member_id,
                group_id=r.group_id,
                name=r.name[:60],
                score=r.score,
                reached_at=r.reached_at,
                qualified=r.qualified,
            )
            for r in rows
        ]
    )
    winners = [e for e in entries if e.qualified and e.rank <= rules.prize_ranks]
    recipients = _recipients(rules, winners)
    everyone = {m for members in recipients.values() for m in members}
    held = referral_adapter.open_fraud_members(shop_id=campaign.shop_id, member_ids=everyone)
    prizes = []
    for entry in winners:
        for number, tier in enumerate(rules.tiers, start=1):
            if not tier["from"] <= entry.rank <= tier["to"]:
                continue
            for member_id in recipients[entry.pk]:
                prizes.append(_prize(campaign, entry, number, tier, member_id, held=member_id in held))
    ContestPrize.objects.bulk_create(prizes)
    return len(entries), len(prizes)


def _prize(campaign, entry, number, tier, member_id, *, held) -> ContestPrize:
    kind = tier["kind"]
    points = tier.get("points", 0)
    amount = Decimal(tier.get("amount", "0"))
    if kind == PrizeKind.CASH:
        cost = amount
    elif kind == PrizeKind.POINTS:
        cost = _points_cost(campaign.shop_id, points)
    elif kind == PrizeKind.ITEM:
        cost = Decimal(tier.get("cost", "0"))
    else:
        cost = Decimal("0.00")
    return ContestPrize(
        campaign=campaign,
        entry=entry,
        member_id=member_id,
        tier=number,
        kind=kind,
        label=tier_words(tier)[:120],
        points=points,
        amount=amount,
        coupon_template_id=tier.get("template"),
        cost=cost,
        key=prize_key(campaign.pk, entry.rank, number, member_id),
        state=PrizeState.HELD if held else PrizeState.PENDING,
        note=_("获奖人有待审核的风控标记，审核后发放。") if held else "",
    )


def settle(campaign: Campaign, *, now: datetime | None = None) -> bool:
    """Settle an ended contest exactly once: freeze the ranking and the prizes owed (one transaction behind the
    settlement row), then grant the pending prizes. True when this call froze it; a re-run, or a run racing
    another, freezes nothing and grants only what is still pending (each prize once)."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.type != CampaignType.CONTEST or campaign.state != CampaignState.ENDED:
        return False
    with transaction.atomic():
        froze = _claim_settlement(campaign, now)
        if froze:
            entries, prizes = _freeze(campaign, now)
            ContestSettlement.objects.filter(campaign=campaign).update(entries=entries, prizes=prizes)
    grant_pending(campaign, now=now)
    return froze


def grant_pending(campaign: Campaign, *, now: datetime | None = None) -> int:
    """Grant every pending prize of the contest, each in its own transaction; returns how many this call gave."""
    now = now or timezone.now()
    ids = list(
        ContestPrize.objects.filter(campaign=campaign, state=PrizeState.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(grant_prize(prize_id, now=now) for prize_id in ids)


def _lock_pending(prize_id: int) -> ContestPrize | None:
    """The prize's row locked until commit if it is still pending, else None: a concurrent grant waits here
    for the first to commit, then finds it granted. The guard that gives a prize once."""
    return (
        ContestPrize.objects.select_for_update(of=("self",))
        .select_related("campaign", "member", "entry", "coupon_template")
        .filter(pk=prize_id, state=PrizeState.PENDING)
        .first()
    )


def grant_prize(prize_id: int, *, now: datetime | None = None) -> bool:
    """Give one pending prize through the reward machinery, exactly once: the row is locked where it is still
    pending (a concurrent grant waits, then finds it granted and gives nothing), the grant is made under the
    prize's key, and the row moves to granted in the same transaction. A refused grant (a coupon sold out,
    an item's pickup point closed) leaves the prize failed with the reason, for an operator to retry."""
    from notifications.services import notify

    now = now or timezone.now()
    with transaction.atomic():
        prize = _lock_pending(prize_id)
        if prize is None:
            return False
        try:
            with transaction.atomic():
                _give(prize)
        except ValidationError as refused:
            prize.state, prize.note = PrizeState.FAILED, " ".join(refused.messages)[:200]
            prize.save(update_fields=["state", "note"])
            return False
        except Exception as refused:  # an ActRefused of the coupon type: its words for the operator
            message = getattr(refused, "message_text", None)
            if message is None:
                raise
            prize.state, prize.note = PrizeState.FAILED, str(message)[:200]
            prize.save(update_fields=["state", "note"])
            return False
        prize.state, prize.granted_at, prize.note = PrizeState.GRANTED, now, ""
        prize.save(update_fields=["state", "granted_at", "note"])
        notify(
            shop=prize.campaign.shop_id,
            user=prize.member_id,
            category="transactional",
            kind="contest_prize",
            key=f"contest-prize:{prize.pk}",
            title=_("恭喜获奖：%(prize)s") % {"prize": prize.label},
            body=_("你在「%(name)s」获得第 %(rank)d 名，奖品已发放。")
            % {"name": prize.campaign.name, "rank": prize.entry.rank},
            url=django_settings.SITE_URL + reverse("campaigns:contest_page", args=[prize.campaign_id]),
        )
    return True


def _give(prize: ContestPrize) -> None:
    """The prize through the machinery its kind uses, under the prize's key (each once per key)."""
    campaign = prize.campaign
    if prize.kind == PrizeKind.POINTS:
        referral_adapter.credit_points(campaign=campaign, member_id=prize.member_id, points=prize.points, key=prize.key)
    elif prize.kind == PrizeKind.CASH:
        referral_adapter.credit_commission(
            campaign=campaign, member_id=prize.member_id, amount=prize.amount, key=prize.key
        )
    elif prize.kind == PrizeKind.COUPON:
        from campaigns.types.coupon.kind import grant_coupon

        if prize.coupon_template is None:
            raise ValidationError(_("优惠券模板已不存在。"))
        grant_coupon(
            template=prize.coupon_template,
            member=prize.member,
            reason=_("排行榜「%(name)s」第 %(rank)d 名") % {"name": campaign.name, "rank": prize.entry.rank},
            key=prize.key,
            issuer=campaign,
        )
    else:
        from orders.fulfilment import Destination, owe_item
        from orders.models import Delivery

        pickup = Rules.of(campaign).pickup_point
        owe_item(
            shop_id=campaign.shop_id,
            member=prize.member,
            source=f"campaign:{campaign.pk}",
            key=prize.key,
            label=_("排行榜奖品：%(prize)s") % {"prize": prize.label},
            destination=Destination(method=Delivery.PICKUP, pickup_point_id=pickup),
            worth=prize.cost,
        )


# --- Operators' review ------------------------------------------------------------------------------------

REVIEW_MOVES = {
    # action: (the states it moves from, the state it moves to)
    "release": ((PrizeState.HELD,), PrizeState.PENDING),
    "withhold": ((PrizeState.HELD, PrizeState.FAILED), PrizeState.WITHHELD),
    "retry": ((PrizeState.FAILED,), PrizeState.PENDING),
}


def review_prize(*, prize: ContestPrize, by, action: str, reason: str = "") -> ContestPrize:
    """An operator's decision on a held or failed prize, recorded with who and why: release (then granted at
    once), withhold, or retry a failed grant. One conditional UPDATE decides: two decisions at once, one wins."""
    if action not in REVIEW_MOVES:
        raise ContestRefused(_("没有这种处理方式。"))
    sources, target = REVIEW_MOVES[action]
    reason = (reason or "").strip()[:200]
    now = timezone.now()
    with transaction.atomic():
        moved = ContestPrize.objects.filter(pk=prize.pk, state__in=sources).update(
            state=target, reviewed_by=by, reviewed_at=now, note=reason
        )
        if moved != 1:
            raise ContestRefused(_("这份奖品的状态已经变了，请刷新后再看。"))
        audit.record(
            shop=prize.campaign.shop_id,
            by=by,
            action=f"campaign.contest.prize.{action}",
            target=prize,
            before={"state": prize.state},
            after={"state": target, "reason": reason},
            label=_("%(member)s 的奖品：%(prize)s") % {"member": prize.member.public_name, "prize": prize.label},
        )
    if target == PrizeState.PENDING:
        grant_prize(prize.pk, now=now)
    prize.refresh_from_db()
    return prize


def settle_now(*, campaign: Campaign, by) -> bool:
    """An operator's 立即结算 of an ended contest (the job would do it within minutes), audited when it froze."""
    froze = settle(campaign)
    if froze:
        audit.record(
            shop=campaign.shop_id,
            by=by,
            action="campaign.contest.settle",
            target=campaign,
            before={"settled": False},
            after={"settled": True},
        )
    return froze


# --- The job ----------------------------------------------------------------------------------------------


def run_jobs(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job (campaigns.tasks.contest_jobs): settle every ended contest not yet settled, then grant
    what is still pending (a crash between the freeze and the grants). Safe to run twice or concurrently."""
    now = now or timezone.now()
    ended = Campaign.objects.filter(
        type=CampaignType.CONTEST, state=CampaignState.ENDED, contest_settlement__isnull=True
    )
    settled = sum(settle(campaign, now=now) for campaign in ended)
    pending = Campaign.objects.filter(type=CampaignType.CONTEST, contest_prizes__state=PrizeState.PENDING).distinct()
    granted = sum(grant_pending(campaign, now=now) for campaign in pending)
    return {"settled": settled, "granted": granted}


# --- Figures ----------------------------------------------------------------------------------------------


def _joins(campaign: Campaign, rules: Rules, start: datetime, end: datetime) -> int:
    qs = ReferralEvent.objects.filter(
        shop_id=campaign.shop_id,
        kind=EventKind.JOINED,
        voided_at__isnull=True,
        occurred_at__gte=start,
        occurred_at__lt=end,
    )
    if rules.scope == Scope.GROUPS or rules.for_groups:
        qs = qs.filter(group_id__in=scope_group_ids(campaign))
    elif rules.scope == Scope.TAGS:
        qs = qs.filter(
            inviter_id__in=Membership.objects.filter(group__shop_id=campaign.shop_id, tags__in=rules.tags).values(
                "user_id"
            )
        )
    return qs.count()


def _sales(campaign: Campaign, rules: Rules, start: datetime, end: datetime) -> Decimal:
    qs = Order.objects.filter(shop_id=campaign.shop_id, state__in=PAID_STATES, paid_at__gte=start, paid_at__lt=end)
    if rules.scope == Scope.GROUPS or (rules.for_groups and not campaign.all_groups):
        qs = qs.filter(group_id__in=scope_group_ids(campaign))
    elif rules.scope == Scope.TAGS:
        qs = qs.filter(
            member_id__in=Membership.objects.filter(group__shop_id=campaign.shop_id, tags__in=rules.tags).values(
                "user_id"
            )
        )
    return (qs.aggregate(total=Sum("total"))["total"] or Decimal("0")).quantize(CENT)


def effect(campaign: Campaign, *, now: datetime | None = None) -> dict:
    """The contest's pull: new members joined through invites and paid sales in its scope during the contest
    (so far) against the same length of time just before it."""
    rules = Rules.of(campaign)
    now = now or timezone.now()
    end = min(now, campaign.ends_at)
    if end <= campaign.starts_at:
        end = campaign.starts_at
    length = end - campaign.starts_at
    before = campaign.starts_at - length
    return {
        "days": round(length / timedelta(days=1), 1),
        "joins_during": _joins(campaign, rules, campaign.starts_at, end),
        "joins_before": _joins(campaign, rules, before, campaign.starts_at),
        "sales_during": _sales(campaign, rules, campaign.starts_at, end),
        "sales_before": _sales(campaign, rules, before, campaign.starts_at),
    }


def contest_figures(campaign: Campaign) -> dict:
    rows, _final = board(campaign)
    rules = Rules.of(campaign)
    pulled = effect(campaign)
    prizes = ContestPrize.objects.filter(campaign=campaign).aggregate(
        granted=Count("pk", filter=Q(state=PrizeState.GRANTED)),
        held=Count("pk", filter=Q(state=PrizeState.HELD)),
        cost=Sum("cost", filter=Q(state=PrizeState.GRANTED)),
    )
    return {
        "participants": len(rows),
        "qualified": sum(1 for r in rows if r.qualified),
        "leader": rules.display(rows[0].score) if rows else 0,
        "joins": f"{pulled['joins_during']} / {pulled['joins_before']}",
        "sales": f"¥{pulled['sales_during']} / ¥{pulled['sales_before']}",
        "granted": prizes["granted"],
        "held": prizes["held"],
        "cost": (prizes["cost"] or Decimal("0")).quantize(CENT),
    }


# --- The plug-in ------------------------------------------------------------------------------------------


class ContestKind(CampaignKind):
    code = CampaignType.CONTEST
    label = gettext_lazy("排行榜比赛")
    summary = gettext_lazy("成员或群在活动期内比邀请、成交或打卡，按名次领奖，结束时一次结算。")
    essential_settings = ("metric", "tiers", "minimum")
    sells = False
    figure_labels = {
        "participants": gettext_lazy("上榜人数"),
        "qualified": gettext_lazy("达到门槛"),
        "leader": gettext_lazy("第一名成绩"),
        "joins": gettext_lazy("邀请入群（期间 / 之前同期）"),
        "sales": gettext_lazy("成交额（期间 / 之前同期）"),
        "granted": gettext_lazy("已发奖品"),
        "held": gettext_lazy("风控待审奖品"),
        "cost": gettext_lazy("奖品成本（元）"),
    }

    @property
    def settings_form(self):
        from .forms import ContestSettingsForm

        return ContestSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_contest_settings(campaign_fields=campaign_fields, settings=settings)

    def figures(self, campaign) -> dict:
        return contest_figures(campaign)

    def settings_words(self, campaign) -> dict[str, str]:
        """The scope's tags and the prizes' pickup point by their names (a query each when set), never by
        their ids."""
        from campaigns.selectors import names_in_shop, names_shown

        rules = Rules.of(campaign)
        pickup = [rules.pickup_point] if rules.pickup_point else []
        return {
            "tags": names_shown(
                rules.tags, names_in_shop(Tag, shop_id=campaign.shop_id, ids=rules.tags), gone=_("已失效的标签")
            ),
            "pickup_point": names_shown(
                pickup, names_in_shop(PickupPoint, shop_id=campaign.shop_id, ids=pickup), gone=_("已失效的自提点")
            ),
        }

    def landing_context(self, campaign, user) -> dict:  # noqa: ARG002 - the interface
        rules = Rules.of(campaign)
        return {
            "contest_rules": rules,
            "contest_tiers": [{"ranks": ranks_words(t), "prize": tier_words(t)} for t in rules.tiers],
        }

    def dashboard_context(self, campaign, request) -> dict:  # noqa: ARG002 - the interface
        rows, final = board(campaign)
        prizes = list(
            ContestPrize.objects.filter(campaign=campaign)
            .select_related("member", "entry", "reviewed_by")
            .order_by("entry__rank", "tier", "pk")[:500]
        )
        return {
            "contest_rules": Rules.of(campaign),
            "contest_rows": rows[:SHOWN],
            "contest_final": final,
            "contest_prizes": prizes,
            "contest_effect": effect(campaign),
            "contest_can_settle": campaign.state == CampaignState.ENDED and not final,
        }

    def poster_offer(self, campaign, target) -> str:  # noqa: ARG002 - the interface
        rules = Rules.of(campaign)
        if rules.tiers:
            return _("%(ranks)s 得 %(prize)s") % {
                "ranks": ranks_words(rules.tiers[0]),
                "prize": tier_words(rules.tiers[0]),
            }
        return ""


registry.register(ContestKind())
