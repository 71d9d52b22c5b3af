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
- B:rb / B:pending   a rebuild's token and the events applied while it ran (see `rebuilding.rebuild`);
- <shop>:names HASH user id → public name; <shop>:boards SET of board keys; <shop>:rebuilding SET of
  boards being rebuilt; applied:<n> the bitmap of applied event ids (bit id mod 2^20 of key id >> 20)
  that makes applying an event exactly-once.

Recording: the `event_recorded` hook applies an event after its transaction commits, in one Lua script
(lua/apply.lua) that first sets the event's bit (a replay, a duplicate delivery or a second worker finds it set and
changes nothing) and then updates every board the event belongs to. `events_voided` takes the events'
contributions back (and marks never-applied ones so a late apply is a no-op); voided events are
excluded from every rebuild. Top 50 and "my rank" are one Lua call each: no SQL.

Embedded mode (no REDIS_URL, `scripts/run`'s default): nothing is kept live; reads compute the board
from the events in SQL with the same ranking rule (fine for a demo-sized shop). Custom ranges are not
kept live either: the first read materialises them from SQL into Redis for CUSTOM_TTL seconds.

A crash between a commit and its after-commit apply loses that event's live update until the board is
rebuilt (the beat job `referrals.tasks.refresh_boards` every six hours rebuilds the boards of the
day's events; `manage.py rebuild_leaderboards --all` rebuilds everything, e.g. after Redis lost its data).
The package by concern: `boards` (what a board is: metric, scope, period, key, tie rule), `keys` (the
other Redis key names), `store` (the client and the Lua scripts in `lua/`), `writes` (applying and
taking back events), `truth` (a board computed in SQL), `reads` (top rows, my rank), `rebuilding`
(rebuilds and repairs), `drilldown` (a member's events). Other apps use the names below.
"""

from .boards import (
    KIND_METRIC,
    METRIC_KINDS,
    TOP,
    Board,
    BoardError,
    Metric,
    Period,
    Scope,
    boards_of,
    describe,
    period_bounds,
)
from .drilldown import knows_member, member_events
from .reads import Entry, rank_of, size, top
from .rebuilding import BoardBusy, rebuild, rebuild_shop, shops_with_events
from .store import live_enabled, redis_client
from .truth import standings
from .writes import LeaderboardPlugin, apply_event, apply_events

__all__ = [
    "Board",
    "BoardBusy",
    "BoardError",
    "Entry",
    "KIND_METRIC",
    "LeaderboardPlugin",
    "METRIC_KINDS",
    "Metric",
    "Period",
    "Scope",
    "TOP",
    "apply_event",
    "apply_events",
    "boards_of",
    "describe",
    "knows_member",
    "live_enabled",
    "member_events",
    "period_bounds",
    "rank_of",
    "rebuild",
    "rebuild_shop",
    "redis_client",
    "shops_with_events",
    "size",
    "standings",
    "top",
]
