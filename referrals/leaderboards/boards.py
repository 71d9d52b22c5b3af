"""What a board is: metric, scope and period, its Redis key, the events it counts and the tie rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import EventKind, ReferralEvent
from .keys import prefix


class Metric:
    QUALIFIED = "qualified"
    JOINS = "joins"
    GMV = "gmv"
    CAMPAIGN_ACTS = "acts"
    CHECK_IN_DAYS = "checkins"
    choices = [
        (QUALIFIED, _("合格推荐")),
        (JOINS, _("带来入群")),
        (GMV, _("带来成交额")),
        (CAMPAIGN_ACTS, _("活动行为")),
        (CHECK_IN_DAYS, _("打卡天数")),
    ]


class Scope:
    SHOP = "shop"
    GROUP = "group"
    SERIES = "series"
    CAMPAIGN = "campaign"
    choices = [(SHOP, _("全店")), (GROUP, _("群")), (SERIES, _("群活码系列")), (CAMPAIGN, _("活动"))]


class Period:
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"
    CUSTOM = "custom"
    LIVE = (DAY, WEEK, MONTH, ALL)
    choices = [
        (DAY, _("日榜")),
        (WEEK, _("周榜")),
        (MONTH, _("月榜")),
        (ALL, _("总榜（活动全程）")),
        (CUSTOM, _("自定义时段")),
    ]


METRIC_KINDS = {
    Metric.QUALIFIED: (EventKind.QUALIFIED,),
    Metric.JOINS: (EventKind.JOINED,),
    Metric.GMV: (EventKind.FIRST_ORDER, EventKind.REPEAT_ORDER),
    Metric.CAMPAIGN_ACTS: (EventKind.CAMPAIGN_ACT,),
    Metric.CHECK_IN_DAYS: (EventKind.CHECK_IN,),
}
KIND_METRIC = {kind: metric for metric, kinds in METRIC_KINDS.items() for kind in kinds}
TOP = 50
CUSTOM_TTL = 300
MAX_CUSTOM_DAYS = 366
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_OCC_MAX = 10**16 - 1
_ID_MAX = 10**19 - 1
TIE_LEN = 35


class BoardError(ValueError):
    """A board that cannot exist (bad metric, scope, period or range); the message is for people."""


@dataclass(frozen=True)
class Board:
    shop_id: int
    metric: str = Metric.QUALIFIED
    scope: str = Scope.SHOP
    scope_id: int = 0
    period: str = Period.ALL
    start: date | None = None  # first day of the period (custom: of the range)
    end: date | None = None  # last day, inclusive

    @classmethod
    def of(
        cls,
        *,
        shop_id: int,
        metric: str = Metric.QUALIFIED,
        scope: str = Scope.SHOP,
        scope_id: int | None = None,
        period: str = Period.ALL,
        day: date | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Board:
        """The board for these choices; day/week/month take the period containing `day` (default today)."""
        if metric not in METRIC_KINDS:
            raise BoardError(_("没有这种排行指标。"))
        if scope not in dict(Scope.choices):
            raise BoardError(_("没有这种排行范围。"))
        if scope == Scope.SHOP:
            scope_id = 0
        elif not scope_id or scope_id <= 0:
            raise BoardError(_("请选择群、系列或活动。"))
        if period in (Period.DAY, Period.WEEK, Period.MONTH):
            start, end = period_bounds(period, day or timezone.localdate())
        elif period == Period.ALL:
            start = end = None
        elif period == Period.CUSTOM:
            if start is None or end is None:
                raise BoardError(_("自定义时段需要开始和结束日期。"))
            if start > end:
                raise BoardError(_("开始日期不能晚于结束日期。"))
            if (end - start).days >= MAX_CUSTOM_DAYS:
                raise BoardError(_("自定义时段最长 366 天。"))
        else:
            raise BoardError(_("没有这种排行周期。"))
        return cls(
            shop_id=shop_id, metric=metric, scope=scope, scope_id=int(scope_id), period=period, start=start, end=end
        )

    @classmethod
    def from_key(cls, key: str) -> Board:
        shop, metric, scope, scope_id, period, start, end = key.removeprefix(prefix() + ":").split(":")

        def day(text):
            return None if text == "-" else datetime.strptime(text, "%Y%m%d").date()

        return cls(
            shop_id=int(shop),
            metric=metric,
            scope=scope,
            scope_id=int(scope_id),
            period=period,
            start=day(start),
            end=day(end),
        )

    @property
    def key(self) -> str:
        def day(d):
            return d.strftime("%Y%m%d") if d else "-"

        return (
            f"{prefix()}:{self.shop_id}:{self.metric}:{self.scope}:{self.scope_id}:{self.period}:"
            f"{day(self.start)}:{day(self.end)}"
        )

    @property
    def is_live(self) -> bool:
        return self.period in Period.LIVE

    @property
    def is_money(self) -> bool:
        return self.metric == Metric.GMV

    def window(self) -> tuple[datetime, datetime] | None:
        """[from, to) in aware datetimes, shop time; None for all time."""
        if self.start is None:
            return None
        tz = timezone.get_current_timezone()
        lo = datetime.combine(self.start, datetime.min.time(), tzinfo=tz)
        hi = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        return lo, hi

    def events(self) -> QuerySet[ReferralEvent]:
        """The live events this board counts: the truth a rebuild reads."""
        qs = ReferralEvent.objects.filter(
            shop_id=self.shop_id, kind__in=METRIC_KINDS[self.metric], voided_at__isnull=True
        )
        if self.metric == Metric.GMV:
            qs = qs.filter(amount__gt=0)
        if self.scope == Scope.GROUP:
            qs = qs.filter(group_id=self.scope_id)
        elif self.scope == Scope.SERIES:
            qs = qs.filter(series_id=self.scope_id)
        elif self.scope == Scope.CAMPAIGN:
            qs = qs.filter(campaign_id=self.scope_id)
        window = self.window()
        if window:
            qs = qs.filter(occurred_at__gte=window[0], occurred_at__lt=window[1])
        return qs

    def display_value(self, raw: int) -> int | Decimal:
        return (Decimal(raw) / 100).quantize(Decimal("0.01")) if self.is_money else int(raw)


def period_bounds(period: str, day: date) -> tuple[date, date]:
    if period == Period.DAY:
        return day, day
    if period == Period.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def boards_of(event: ReferralEvent) -> list[Board]:
    """Every live board an event counts on (none for link opens, voided events or zero amounts)."""
    metric = KIND_METRIC.get(event.kind)
    if metric is None or event.voided_at is not None or value_of(event, metric) <= 0:
        return []
    scopes = [(Scope.SHOP, 0)]
    if event.group_id:
        scopes.append((Scope.GROUP, event.group_id))
    if event.series_id:
        scopes.append((Scope.SERIES, event.series_id))
    if event.campaign_id:
        scopes.append((Scope.CAMPAIGN, event.campaign_id))
    day = timezone.localdate(event.occurred_at)
    periods = [(p, *period_bounds(p, day)) for p in (Period.DAY, Period.WEEK, Period.MONTH)]
    periods.append((Period.ALL, None, None))
    return [
        Board(shop_id=event.shop_id, metric=metric, scope=scope, scope_id=scope_id, period=period, start=start, end=end)
        for scope, scope_id in scopes
        for period, start, end in periods
    ]


_KEY_CACHE: dict[tuple, list[str]] = {}


def board_keys(event: ReferralEvent) -> list[str]:
    """The Redis keys of `boards_of(event)`, memoised per (shop, metric, group, series, campaign, day)."""
    metric = KIND_METRIC.get(event.kind)
    if metric is None or event.voided_at is not None or value_of(event, metric) <= 0:
        return []
    plan = (
        prefix(),
        event.shop_id,
        metric,
        event.group_id,
        event.series_id,
        event.campaign_id,
        timezone.localdate(event.occurred_at),
    )
    keys = _KEY_CACHE.get(plan)
    if keys is None:
        if len(_KEY_CACHE) > 20000:
            _KEY_CACHE.clear()
        keys = _KEY_CACHE[plan] = [b.key for b in boards_of(event)]
    return keys


def value_of(event: ReferralEvent, metric: str) -> int:
    if metric == Metric.GMV:
        return int((event.amount * 100).to_integral_value())
    return 1


def tie_of(occurred_at: datetime, event_id: int) -> str:
    """The tie part of a member string: later (occurred_at, id) sorts lower."""
    micros = (occurred_at - _EPOCH) // timedelta(microseconds=1)
    return f"{_OCC_MAX - micros:016d}{_ID_MAX - event_id:019d}"


def reached_at(tie: str) -> datetime:
    return _EPOCH + timedelta(microseconds=_OCC_MAX - int(tie[:16]))


def describe(board: Board, scope_name: str = "") -> str:
    """The board in words: "合格推荐 · 群「宝妈群」 · 周榜 2025-03-03 至 2025-03-09"."""
    parts = [str(dict(Metric.choices)[board.metric])]
    scope = str(dict(Scope.choices)[board.scope])
    if board.scope == Scope.SHOP:
        parts.append(scope)
    elif scope_name:
        parts.append(f"{scope}「{scope_name}」")
    else:
        parts.append(f"{scope} #{board.scope_id}")
    period = str(dict(Period.choices)[board.period])
    if board.start is None:
        parts.append(period)
    elif board.start == board.end:
        parts.append(f"{period} {board.start:%Y-%m-%d}")
    else:
        parts.append(f"{period} {board.start:%Y-%m-%d} – {board.end:%Y-%m-%d}")
    return " · ".join(parts)
