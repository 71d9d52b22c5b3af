"""Referral leaderboards (邀请排行榜): live ranks in Redis sorted sets, PostgreSQL the truth.

A board is (shop, metric, scope, period):
- metric: qualified referrals, joins brought, GMV brought (the invitees' paid orders), campaign acts —
  each a sum over the live (not voided) `ReferralEvent`s of some kinds, credited to `event.inviter`;
- scope: the whole shop, one group, one series or one campaign (the event's group/series/campaign_id);
- period: a day, an ISO week or a month (shop time, Asia/Shanghai, of `occurred_at`), all time (for a
  campaign board: the campaign's whole run), or a custom date range.

Ranking rule: higher value first; on a tie, whoever reached the value first wins. "Reached" is the
member's latest counted event, ordered by (occurred_at, event id): the value was reached when that
event happened (the id breaks ties within one microsecond). The rule is a pure function of the live
events, so `rebuild()` reproduces the live ranks exactly.

Redis layout (prefix `<CACHE_KEY_PREFIX>:lb`), per board key B:
- B        ZSET: score = the value (an integer: a count, or GMV in fen — exact in a double up to 2^53);
           member = "<tie><user id>" where tie is 35 digits, (10^16-1-occurred_µs)(10^19-1-event_id), so
           on equal scores ZREVRANGE's reverse-lexicographic order puts the earliest reacher first;
- B:m      HASH user id → current member string (to find "my rank" without scanning);
- B:rb / B:pending   a rebuild's token and the events applied while it ran (see `rebuild`);
- <shop>:names HASH user id → public name; <shop>:boards SET of board keys; <shop>:rebuilding SET of
  boards being rebuilt; applied:<n> the bitmap of applied event ids (bit id mod 2^20 of key id >> 20)
  that makes applying an event exactly-once.

Recording: the `event_recorded` hook applies an event after its transaction commits, in one Lua script
that first sets the event's bit (a replay, a duplicate delivery or a second worker finds it set and
changes nothing) and then updates every board the event belongs to. `events_voided` takes the events'
contributions back (and marks never-applied ones so a late apply is a no-op); voided events are
excluded from every rebuild. Top 50 and "my rank" are one Lua call each: no SQL.

Embedded mode (no REDIS_URL, `scripts/run`'s default): nothing is kept live; reads compute the board
from the events in SQL with the same ranking rule (fine for a demo-sized shop). Custom ranges are not
kept live either: the first read materialises them from SQL into Redis for CUSTOM_TTL seconds.

A crash between a commit and its after-commit apply loses that event's live update until the board is
rebuilt (the beat job `referrals.leaderboards.refresh_boards` every six hours rebuilds the boards of the
day's events; `manage.py rebuild_leaderboards --all` rebuilds everything, e.g. after Redis lost its data).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import EventKind, ReferralEvent

logger = logging.getLogger(__name__)


class Metric:
    QUALIFIED = "qualified"
    JOINS = "joins"
    GMV = "gmv"
    CAMPAIGN_ACTS = "acts"
    choices = [
        (QUALIFIED, _("合格推荐")),
        (JOINS, _("带来入群")),
        (GMV, _("带来成交额")),
        (CAMPAIGN_ACTS, _("活动行为")),
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
}
KIND_METRIC = {kind: metric for metric, kinds in METRIC_KINDS.items() for kind in kinds}
TOP = 50
CUSTOM_TTL = 300
MAX_CUSTOM_DAYS = 366
REBUILD_LOCK_SECONDS = 900
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_OCC_MAX = 10**16 - 1
_ID_MAX = 10**19 - 1
TIE_LEN = 35
_BITMAP_BITS = 20


# --- Boards -----------------------------------------------------------------------------------------


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
        shop, metric, scope, scope_id, period, start, end = key.removeprefix(_prefix() + ":").split(":")

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
            f"{_prefix()}:{self.shop_id}:{self.metric}:{self.scope}:{self.scope_id}:{self.period}:"
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
    if metric is None or event.voided_at is not None or _value_of(event, metric) <= 0:
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
    if metric is None or event.voided_at is not None or _value_of(event, metric) <= 0:
        return []
    plan = (
        _prefix(),
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


def _value_of(event: ReferralEvent, metric: str) -> int:
    if metric == Metric.GMV:
        return int((event.amount * 100).to_integral_value())
    return 1


def tie_of(occurred_at: datetime, event_id: int) -> str:
    """The tie part of a member string: later (occurred_at, id) sorts lower."""
    micros = (occurred_at - _EPOCH) // timedelta(microseconds=1)
    return f"{_OCC_MAX - micros:016d}{_ID_MAX - event_id:019d}"


def reached_at(tie: str) -> datetime:
    return _EPOCH + timedelta(microseconds=_OCC_MAX - int(tie[:16]))


# --- Redis plumbing ---------------------------------------------------------------------------------


def _prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'shequn'}:lb"


def live_enabled() -> bool:
    return bool(settings.REDIS_URL)


def redis_client():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _names_key(shop_id: int) -> str:
    return f"{_prefix()}:{shop_id}:names"


def _registry_key(shop_id: int) -> str:
    return f"{_prefix()}:{shop_id}:boards"


def _rebuilding_key(shop_id: int) -> str:
    return f"{_prefix()}:{shop_id}:rebuilding"


def _bit(event_id: int) -> tuple[str, int]:
    return f"{_prefix()}:applied:{event_id >> _BITMAP_BITS}", event_id & ((1 << _BITMAP_BITS) - 1)


_LUA_LIB = f"""
local TL = {TIE_LEN}
local function put(board, user, delta, tie, registry)
  local meta = board .. ':m'
  local old = redis.call('HGET', meta, user)
  local score = delta
  if not old and registry then redis.call('SADD', registry, board) end
  if old then
    score = score + tonumber(redis.call('ZSCORE', board, old) or '0')
    local oldtie = string.sub(old, 1, TL)
    if oldtie < tie then tie = oldtie end
    redis.call('ZREM', board, old)
  end
  local member = tie .. user
  redis.call('ZADD', board, string.format('%d', score), member)
  redis.call('HSET', meta, user, member)
end
local function take(board, user, delta, tie)
  local meta = board .. ':m'
  local cur = redis.call('HGET', meta, user)
  if not cur then return 0 end
  local score = tonumber(redis.call('ZSCORE', board, cur) or '0') - delta
  if score <= 0 then
    redis.call('ZREM', board, cur)
    redis.call('HDEL', meta, user)
    return 0
  end
  redis.call('ZADD', board, string.format('%d', score), cur)
  if string.sub(cur, 1, TL) == tie then return 1 end
  return 0
end
local function note(rebuilding, board, entry)
  if redis.call('SISMEMBER', rebuilding, board) == 1 then
    if redis.call('EXISTS', board .. ':rb') == 1 then
      redis.call('RPUSH', board .. ':pending', entry)
    else
      redis.call('SREM', rebuilding, board)
    end
  end
end
"""

# KEYS: bitmap, names, registry, rebuilding, boards…  ARGV: bit, user, name, value, tie, event id
_APPLY = (
    _LUA_LIB
    + """
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local value = tonumber(ARGV[4])
local rebuilding = redis.call('SCARD', KEYS[4]) > 0
local entry = table.concat({'+', ARGV[6], ARGV[2], ARGV[4], ARGV[5]}, '|')
for i = 5, #KEYS do
  put(KEYS[i], ARGV[2], value, ARGV[5], KEYS[3])
  if rebuilding then note(KEYS[4], KEYS[i], entry) end
end
return 1
"""
)

# Many events of one shop in one call (replays, bulk loads). The keys travel in ARGV (single Redis, not a
# cluster). ARGV: names, registry, rebuilding, then per event: bitmap, bit, user, name, value, tie, id,
# board count, boards…  Returns how many events were new.
_APPLY_MANY = (
    _LUA_LIB
    + """
local names, registry, rebuilding_key = ARGV[1], ARGV[2], ARGV[3]
local rebuilding = redis.call('SCARD', rebuilding_key) > 0
local counted, i = 0, 4
while i <= #ARGV do
  local user, value, tie, count = ARGV[i + 2], tonumber(ARGV[i + 4]), ARGV[i + 5], tonumber(ARGV[i + 7])
  if redis.call('SETBIT', ARGV[i], ARGV[i + 1], 1) == 0 then
    counted = counted + 1
    redis.call('HSET', names, user, ARGV[i + 3])
    local entry = table.concat({'+', ARGV[i + 6], user, ARGV[i + 4], tie}, '|')
    for j = i + 8, i + 7 + count do
      put(ARGV[j], user, value, tie, registry)
      if rebuilding then note(rebuilding_key, ARGV[j], entry) end
    end
  end
  i = i + 8 + count
end
return counted
"""
)

# KEYS: bitmap, rebuilding, boards…  ARGV: bit, user, value, tie, event id.  Returns the boards whose tie
# must be redone.
_UNAPPLY = (
    _LUA_LIB
    + """
local entry = table.concat({'-', ARGV[5], ARGV[2], ARGV[3], ARGV[4]}, '|')
for i = 3, #KEYS do note(KEYS[2], KEYS[i], entry) end
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 0 then return {} end
local out = {}
for i = 3, #KEYS do
  if take(KEYS[i], ARGV[2], tonumber(ARGV[3]), ARGV[4]) == 1 then table.insert(out, KEYS[i]) end
end
return out
"""
)

# KEYS: board.  ARGV: user, old tie, new tie.  Moves the member to the new tie if it still has the old one.
_RETIE = (
    _LUA_LIB
    + """
local meta = KEYS[1] .. ':m'
local cur = redis.call('HGET', meta, ARGV[1])
if not cur or string.sub(cur, 1, TL) ~= ARGV[2] then return 0 end
local score = redis.call('ZSCORE', KEYS[1], cur)
redis.call('ZREM', KEYS[1], cur)
local member = ARGV[3] .. ARGV[1]
redis.call('ZADD', KEYS[1], score, member)
redis.call('HSET', meta, ARGV[1], member)
return 1
"""
)

# KEYS: board, built copy, pending, rebuild token, registry, rebuilding.  ARGV: token, pending length seen, then
# corrections (op, user, value, tie)…  Swaps the rebuilt copy in and applies what arrived meanwhile.
_SWAP = (
    _LUA_LIB
    + """
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return {-1} end
if redis.call('LLEN', KEYS[3]) ~= tonumber(ARGV[2]) then return {0} end
for _, suffix in ipairs({'', ':m'}) do
  if redis.call('EXISTS', KEYS[2] .. suffix) == 1 then
    redis.call('RENAME', KEYS[2] .. suffix, KEYS[1] .. suffix)
  else
    redis.call('DEL', KEYS[1] .. suffix)
  end
end
local out = {1}
for i = 3, #ARGV, 4 do
  if ARGV[i] == '+' then
    put(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], nil)
  elseif take(KEYS[1], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]) == 1 then
    table.insert(out, ARGV[i + 1] .. '|' .. ARGV[i + 3])
  end
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SREM', KEYS[6], KEYS[1])
redis.call('SADD', KEYS[5], KEYS[1])
return out
"""
)

# KEYS: board, names.  ARGV: limit.  → user, score, name, tie for the top rows.
_TOP = f"""
local rows = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if #rows == 0 then return {{}} end
local users = {{}}
for i = 1, #rows, 2 do table.insert(users, string.sub(rows[i], {TIE_LEN} + 1)) end
local names = {{}}
for first = 1, #users, 500 do  -- unpack() has a stack limit: ask in slices
  local slice = redis.call('HMGET', KEYS[2], unpack(users, first, math.min(first + 499, #users)))
  for j = 1, #slice do names[first + j - 1] = slice[j] end
end
local out = {{}}
for i = 1, #users do
  table.insert(out, users[i])
  table.insert(out, rows[2 * i])
  table.insert(out, names[i] or '')
  table.insert(out, string.sub(rows[2 * i - 1], 1, {TIE_LEN}))
end
return out
"""

# KEYS: board, names.  ARGV: user.  → rank (0-based), score, name, tie, board size; {} when not on it.
_RANK = f"""
local member = redis.call('HGET', KEYS[1] .. ':m', ARGV[1])
if not member then return {{}} end
return {{redis.call('ZREVRANK', KEYS[1], member), redis.call('ZSCORE', KEYS[1], member),
        redis.call('HGET', KEYS[2], ARGV[1]) or '', string.sub(member, 1, {TIE_LEN}), redis.call('ZCARD', KEYS[1])}}
"""

_scripts: dict[str, object] = {}


def _script(source: str):
    client = redis_client()
    cache_key = f"{id(client.connection_pool)}:{hash(source)}"
    script = _scripts.get(cache_key)
    if script is None:
        script = _scripts[cache_key] = client.register_script(source)
    return script


# --- Applying events ---------------------------------------------------------------------------------


def _apply_args(event: ReferralEvent, boards: list[str], name: str) -> tuple[list[str], list]:
    bitmap, bit = _bit(event.pk)
    keys = [bitmap, _names_key(event.shop_id), _registry_key(event.shop_id), _rebuilding_key(event.shop_id), *boards]
    args = [
        bit,
        event.inviter_id,
        name,
        _value_of(event, KIND_METRIC[event.kind]),
        tie_of(event.occurred_at, event.pk),
        event.pk,
    ]
    return keys, args


def _inviter_name(event: ReferralEvent) -> str:
    return event.inviter.public_name  # the recording code hands the inviter in, so usually no query


def apply_event(event: ReferralEvent, *, name: str | None = None) -> bool:
    """Count one recorded event on its live boards, exactly once. True if this call counted it."""
    boards = board_keys(event)
    if not boards or not live_enabled():
        return False
    keys, args = _apply_args(event, boards, name if name is not None else _inviter_name(event))
    return bool(_script(_APPLY)(keys=keys, args=args))


def apply_events(events, *, names: dict[int, str], batch: int = 200) -> int:
    """`apply_event` for many events, `batch` per Lua call, 20 calls per pipeline (replays, bulk loads).

    Same exactly-once rule: an event already applied changes nothing. Returns how many were new.
    """
    if not live_enabled():
        return 0
    script = _script(_APPLY_MANY)
    pipe = redis_client().pipeline(transaction=False)
    counted, queued, args, shop_id = 0, 0, [], None

    def queue_call():
        nonlocal counted, queued
        if len(args) > 3:
            script(keys=[], args=args, client=pipe)
            queued += 1
        if queued >= 20:
            counted += sum(int(x) for x in pipe.execute())
            queued = 0

    in_call = 0
    for event in events:
        keys = board_keys(event)
        if not keys:
            continue
        if event.shop_id != shop_id or in_call >= batch:
            queue_call()
            shop_id, in_call = event.shop_id, 0
            args = [_names_key(shop_id), _registry_key(shop_id), _rebuilding_key(shop_id)]
        bitmap, bit = _bit(event.pk)
        value = _value_of(event, KIND_METRIC[event.kind])
        args += [
            bitmap,
            bit,
            event.inviter_id,
            names.get(event.inviter_id, ""),
            value,
            tie_of(event.occurred_at, event.pk),
            event.pk,
            len(keys),
            *keys,
        ]
        in_call += 1
    queue_call()
    if queued:
        counted += sum(int(x) for x in pipe.execute())
    return counted


def unapply_events(events) -> None:
    """Take voided events off their live boards (each at most once), then redo ties they decided."""
    if not live_enabled():
        return
    script = _script(_UNAPPLY)
    to_retie = []
    for event in events:
        metric = KIND_METRIC.get(event.kind)
        if metric is None or _value_of(event, metric) <= 0:
            continue
        boards = boards_of(_as_live(event))
        bitmap, bit = _bit(event.pk)
        tie = tie_of(event.occurred_at, event.pk)
        keys = [bitmap, _rebuilding_key(event.shop_id), *(b.key for b in boards)]
        for key in script(keys=keys, args=[bit, event.inviter_id, _value_of(event, metric), tie, event.pk]):
            to_retie.append((key.decode() if isinstance(key, bytes) else key, event.inviter_id, tie))
    for key, user_id, tie in to_retie:
        _retie(Board.from_key(key), user_id, tie)


def _as_live(event: ReferralEvent) -> ReferralEvent:
    """The event as it was before its void, to find the boards it counted on."""
    copy = ReferralEvent(**{f.attname: getattr(event, f.attname) for f in ReferralEvent._meta.concrete_fields})
    copy.voided_at = None
    return copy


def _retie(board: Board, user_id: int, old_tie: str) -> None:
    """The member's latest counted event was taken away: their tie moves to the latest one left."""
    latest = (
        board.events()
        .filter(inviter_id=user_id)
        .order_by("-occurred_at", "-pk")
        .values_list("occurred_at", "pk")
        .first()
    )
    if latest is not None:
        _script(_RETIE)(keys=[board.key], args=[user_id, old_tie, tie_of(*latest)])


class LeaderboardPlugin:
    """The referrals.hooks plug-in: boards follow the events, after the transaction commits."""

    @staticmethod
    def event_recorded(event: ReferralEvent) -> None:
        if live_enabled() and KIND_METRIC.get(event.kind):
            name = _inviter_name(event)  # read now: after commit the instance may be gone from the caller
            transaction.on_commit(lambda: _safely(apply_event, event, name=name))

    @staticmethod
    def events_voided(events) -> None:
        if live_enabled():
            events = list(events)
            transaction.on_commit(lambda: _safely(unapply_events, events))


def _safely(fn, *args, **kwargs) -> None:
    """Redis trouble must not fail a request whose data is already committed: a rebuild repairs the board."""
    try:
        fn(*args, **kwargs)
    except Exception:
        logger.exception("leaderboard update failed; the next rebuild repairs it")


# --- Reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: int
    name: str
    value: int | Decimal
    reached_at: datetime


@dataclass(frozen=True)
class Standing:
    user_id: int
    raw: int
    last_at: datetime
    last_id: int

    @property
    def tie(self) -> str:
        return tie_of(self.last_at, self.last_id)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def top(board: Board, limit: int = TOP) -> list[Entry]:
    """The board's first `limit` rows. Live boards: one Redis call, no SQL."""
    if not live_enabled():
        return _entries(board, standings(board)[:limit])
    if not board.is_live:
        _materialise(board)
    rows = _script(_TOP)(keys=[board.key, _names_key(board.shop_id)], args=[limit])
    entries = []
    for i in range(0, len(rows), 4):
        tie = _text(rows[i + 3])
        entries.append(
            Entry(
                rank=i // 4 + 1,
                user_id=int(rows[i]),
                name=_text(rows[i + 2]),
                value=board.display_value(int(float(rows[i + 1]))),
                reached_at=reached_at(tie),
            )
        )
    return entries


def rank_of(board: Board, user_id: int) -> tuple[Entry | None, int]:
    """(the member's row, or None when not on the board; how many are on it). Live boards: no SQL."""
    if not live_enabled():
        ranked = standings(board)
        for position, standing in enumerate(ranked):
            if standing.user_id == user_id:
                return _entries(board, [standing], start=position + 1)[0], len(ranked)
        return None, len(ranked)
    if not board.is_live:
        _materialise(board)
    row = _script(_RANK)(keys=[board.key, _names_key(board.shop_id)], args=[user_id])
    if not row:
        return None, size(board)
    entry = Entry(
        rank=int(row[0]) + 1,
        user_id=user_id,
        name=_text(row[2]),
        value=board.display_value(int(float(row[1]))),
        reached_at=reached_at(_text(row[3])),
    )
    return entry, int(row[4])


def size(board: Board) -> int:
    if not live_enabled():
        return len(standings(board))
    return redis_client().zcard(board.key)


def _entries(board: Board, ranked: list[Standing], start: int = 1) -> list[Entry]:
    names = public_names([s.user_id for s in ranked])
    return [
        Entry(
            rank=start + i,
            user_id=s.user_id,
            name=names.get(s.user_id, ""),
            value=board.display_value(s.raw),
            reached_at=s.last_at,
        )
        for i, s in enumerate(ranked)
    ]


def standings(board: Board) -> list[Standing]:
    """The board computed from the live events in SQL, in rank order: the truth live ranks must match."""
    value = Sum("amount") if board.is_money else Count("pk")
    per_inviter = [F("inviter_id")]
    rows = (
        board.events()
        .annotate(
            total=Window(value, partition_by=per_inviter),
            position=Window(RowNumber(), partition_by=per_inviter, order_by=[F("occurred_at").desc(), F("pk").desc()]),
        )
        .filter(position=1)
        .values_list("inviter_id", "total", "occurred_at", "pk")
    )
    ranked = [
        Standing(
            user_id=user_id,
            raw=int((total * 100).to_integral_value()) if board.is_money else int(total),
            last_at=last_at,
            last_id=last_id,
        )
        for user_id, total, last_at, last_id in rows
    ]
    ranked.sort(key=lambda s: (-s.raw, s.last_at, s.last_id))
    return ranked


def public_names(user_ids: list[int]) -> dict[int, str]:
    from accounts.models import User

    names = {}
    for chunk_start in range(0, len(user_ids), 5000):
        chunk = user_ids[chunk_start : chunk_start + 5000]
        for user in User.objects.filter(pk__in=chunk).only("display_name", "phone", "email", "username"):
            names[user.pk] = user.public_name
    return names


# --- Rebuilding --------------------------------------------------------------------------------------


class BoardBusy(RuntimeError):
    """Another rebuild of the same board is running."""


def rebuild(board: Board, *, wait: float = 30) -> int:
    """Recompute the board from the live events in PostgreSQL and swap it in. Returns its size.

    Safe while events keep arriving: the board is flagged while it is rebuilt, and every apply or
    void that touches it meanwhile is also noted in a list. The copy is computed from one snapshot
    (REPEATABLE READ); before the swap each noted event is checked against that snapshot and applied
    to (or taken off) the copy only if the snapshot did not already see it. The swap and those
    corrections are one atomic script, retried if more events were noted since they were read.
    Voided events are never in the snapshot, so a rebuild never brings one back.
    """
    if not live_enabled():
        return len(standings(board))
    client = redis_client()
    token = secrets.token_hex(8)
    flag, pending = board.key + ":rb", board.key + ":pending"
    deadline = time.monotonic() + wait
    while not client.set(flag, token, nx=True, ex=REBUILD_LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise BoardBusy(board.key)
        time.sleep(0.05)
    rebuilding = _rebuilding_key(board.shop_id)
    client.delete(pending)  # what a crashed rebuild may have left
    client.sadd(rebuilding, board.key)  # from now on, applies and voids on this board are noted
    copy = f"{board.key}:copy:{token}"
    to_retie = None
    try:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:  # one snapshot for the copy and the checks
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            ranked = standings(board)
            _write_copy(client, board, copy, ranked)
            for _attempt in range(50):
                noted = [_text(x) for x in client.lrange(pending, 0, -1)]
                corrections = _corrections(noted)
                result = _script(_SWAP)(
                    keys=[board.key, copy, pending, flag, _registry_key(board.shop_id), rebuilding],
                    args=[token, len(noted), *corrections],
                )
                status = int(result[0])
                if status == 1:
                    to_retie = [_text(item).split("|") for item in result[1:]]
                    break
                if status == -1:
                    raise BoardBusy(board.key)
        if to_retie is None:
            raise BoardBusy(board.key)
        for user_id, tie in to_retie:  # outside the old snapshot: the latest event left is read fresh
            _retie(board, int(user_id), tie)
        return len(ranked)
    finally:
        client.delete(copy, copy + ":m")
        if client.get(flag) == token.encode():  # failed before the swap: stop noting, let the next one try
            client.srem(rebuilding, board.key)
            client.delete(flag, pending)


def _write_copy(client, board: Board, copy: str, ranked: list[Standing]) -> None:
    client.delete(copy, copy + ":m")
    names = public_names([s.user_id for s in ranked])
    pipe = client.pipeline(transaction=False)
    for chunk_start in range(0, len(ranked), 5000):
        chunk = ranked[chunk_start : chunk_start + 5000]
        members = {f"{s.tie}{s.user_id}": s.raw for s in chunk}
        pipe.zadd(copy, members)
        pipe.hset(copy + ":m", mapping={s.user_id: f"{s.tie}{s.user_id}" for s in chunk})
        chunk_names = {s.user_id: names[s.user_id] for s in chunk if s.user_id in names}
        if chunk_names:
            pipe.hset(_names_key(board.shop_id), mapping=chunk_names)
        pipe.execute()


def _corrections(noted: list[str]) -> list:
    """What the snapshot missed among the noted applies and voids, as (op, user, value, tie) flattened.

    An event counts in the snapshot iff it was visible there and not voided. Walking the notes in
    order: '+' adds an event the copy does not count yet; '-' takes one off that the copy counts.
    """
    if not noted:
        return []
    parsed = [entry.split("|") for entry in noted]
    ids = {int(p[1]) for p in parsed}
    counted = set(ReferralEvent.objects.filter(pk__in=ids, voided_at__isnull=True).values_list("pk", flat=True))
    out = []
    for op, event_id, user_id, value, tie in parsed:
        event_id = int(event_id)
        if op == "+" and event_id not in counted:
            counted.add(event_id)
            out += ["+", user_id, value, tie]
        elif op == "-" and event_id in counted:
            counted.discard(event_id)
            out += ["-", user_id, value, tie]
    return out


def _materialise(board: Board) -> None:
    """A custom range: computed from SQL on first read, then served from Redis for CUSTOM_TTL seconds."""
    client = redis_client()
    marker = board.key + ":built"
    if client.exists(marker):
        return
    ranked = standings(board)
    copy = f"{board.key}:copy:{secrets.token_hex(8)}"
    _write_copy(client, board, copy, ranked)
    pipe = client.pipeline()
    pipe.delete(board.key, board.key + ":m")
    if ranked:
        pipe.rename(copy, board.key)
        pipe.rename(copy + ":m", board.key + ":m")
        pipe.expire(board.key, CUSTOM_TTL)
        pipe.expire(board.key + ":m", CUSTOM_TTL)
    pipe.set(marker, 1, ex=CUSTOM_TTL)
    pipe.execute()


def boards_to_refresh(shop_id: int, today: date | None = None) -> list[Board]:
    """The shop's registered boards of the current day/week/month and all time."""
    if not live_enabled():
        return []
    today = today or timezone.localdate()
    found = []
    for raw in redis_client().smembers(_registry_key(shop_id)):
        board = Board.from_key(_text(raw))
        if board.period == Period.ALL or (board.start and board.start <= today <= board.end):
            found.append(board)
    return sorted(found, key=lambda b: b.key)


def rebuild_shop(shop_id: int, *, everything: bool = False, since: datetime | None = None) -> int:
    """Rebuild a shop's current boards and those of events recorded `since` (or, with `everything`, every
    board its events imply: after Redis lost its data). Returns how many boards."""
    boards = set(boards_to_refresh(shop_id))
    if everything and live_enabled():
        boards |= {Board.from_key(_text(raw)) for raw in redis_client().smembers(_registry_key(shop_id))}
        boards |= set(_boards_from_events(shop_id))
    elif since is not None and live_enabled():
        boards |= set(_boards_from_events(shop_id, since=since))
    for board in sorted(boards, key=lambda b: b.key):
        rebuild(board)
    return len(boards)


def _boards_from_events(shop_id: int, since: datetime | None = None) -> list[Board]:
    """Every live board implied by the shop's live events (recorded `since`, when given)."""
    found: set[Board] = set()
    events = ReferralEvent.objects.filter(shop_id=shop_id, voided_at__isnull=True, kind__in=list(KIND_METRIC))
    if since is not None:
        events = events.filter(recorded_at__gte=since)
    # order_by(): without it the model's ordering joins the DISTINCT and every event is its own row.
    rows = (
        events.order_by()
        .values_list("kind", "group_id", "series_id", "campaign_id", "occurred_at")
        .distinct()
        .iterator(chunk_size=5000)
    )
    for kind, group_id, series_id, campaign_id, occurred_at in rows:
        probe = ReferralEvent(
            shop_id=shop_id,
            kind=kind,
            group_id=group_id,
            series_id=series_id,
            campaign_id=campaign_id,
            occurred_at=occurred_at,
            amount=Decimal("1"),
        )
        found.update(boards_of(probe))
    return list(found)


def shops_with_events(since: datetime | None = None) -> list[int]:
    """Each shop with events (recorded `since`, when given) once.

    order_by() matters: the model's ordering (occurred_at, pk) would join the DISTINCT and return one
    row per event, so a shop with 1,000 events would be rebuilt 1,000 times.
    """
    events = ReferralEvent.objects.all() if since is None else ReferralEvent.objects.filter(recorded_at__gte=since)
    return list(events.order_by("shop_id").values_list("shop_id", flat=True).distinct())


def refresh_recent_boards() -> int:
    """Beat job: rebuild the current boards of every shop that recorded events in the last day."""
    count = 0
    since = timezone.now() - timedelta(days=1)
    for shop_id in shops_with_events(since):
        try:
            count += rebuild_shop(shop_id, since=since)
        except BoardBusy:
            logger.info("boards of shop %s are being rebuilt already", shop_id)
    return count


# --- Drill-down (platform admins, operators) -----------------------------------------------------------


def member_events(*, shop_id: int, user_id: int) -> QuerySet[ReferralEvent]:
    """A member's events in a shop, as inviter (credited) or invitee (acted), newest first."""
    return (
        ReferralEvent.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id)
        .select_related("inviter", "invitee", "group", "voided_by")
        .order_by("-occurred_at", "-pk")
    )


def referral_tree(*, shop_id: int, user_id: int, limit: int = 200) -> list[tuple[object, list]]:
    """Whom the member brought to the shop, and whom each of those brought: [(edge, [child edges])].

    Superseded edges are kept (a moved invitee stays on the original inviter's record). Two queries.
    """
    from .models import ReferralEdge

    first = list(
        ReferralEdge.objects.filter(shop_id=shop_id, inviter_id=user_id)
        .select_related("invitee", "group")
        .order_by("created_at", "pk")[:limit]
    )
    children: dict[int, list] = {}
    for edge in (
        ReferralEdge.objects.filter(shop_id=shop_id, inviter_id__in=[e.invitee_id for e in first])
        .select_related("invitee")
        .order_by("created_at", "pk")
    ):
        children.setdefault(edge.inviter_id, []).append(edge)
    return [(edge, children.get(edge.invitee_id, [])) for edge in first]


def knows_member(*, shop_id: int, user_id: int) -> bool:
    """True if the member has any referral record in the shop (drill-down pages are a 404 otherwise)."""
    from .models import ReferralEdge

    return (
        ReferralEvent.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
        or ReferralEdge.objects.filter(Q(inviter_id=user_id) | Q(invitee_id=user_id), shop_id=shop_id).exists()
    )


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


# --- Beat job ------------------------------------------------------------------------------------------


@shared_task(name="referrals.leaderboards.refresh_boards", acks_late=True, ignore_result=True)
def refresh_boards() -> int | None:
    """Rebuild the current boards of shops with recent events: repairs any live update a crash lost."""
    from shequn.jobs import run_counted

    return run_counted("refresh-leaderboards", refresh_recent_boards)
