"""Commercial messages to many members at once (a broadcast, an invitation), decided when they are written.

The outbox's usual path writes a message pending and decides at release time (notifications.services): a
member in quiet hours waits, one over the cap is dropped later. A broadcast must say beforehand how many will
receive it, and then send exactly those. So here the send-time rules are applied when the messages are written,
with one function for the preview and the send:

- `decide` answers, for each member, SEND or the first rule that keeps the message from them, in the order
  the release job applies them: opted out of the category, an open after-sales case (marketing_held_among),
  in their quiet hours (here excluded, not delayed: a broadcast is news of now), over the shop's cap.
- `send_now` (in the caller's transaction) locks the members' preference rows, decides, writes the messages
  of those who receive it and releases them at once (sent to the inbox, deliveries queued). The release is
  what counts against the cap, so the cap is taken by that one UPDATE per batch, under the locks the release
  job takes too: neither can push a member past the cap.

With nothing changed between the preview (`decide` without locks) and the send, both give the same answer
for every member; each costs a constant number of statements per batch whatever its size.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from .models import Category, HoldReason, Notification, Preference
from .services import (
    Outgoing,
    _cap_counts,
    _ids,
    _lock_members,
    _over_cap,
    _release,
    commercial_sent_among,
    held_among,
    notify_many,
    quiet_hours,
    quiet_until,
    settings_for,
)

SEND = "send"
# The reasons a member is left out, in the order they are decided (a member counts under the first only).
EXCLUSIONS = (HoldReason.OPTED_OUT, HoldReason.AFTER_SALES, HoldReason.QUIET_HOURS, HoldReason.CAPPED)


def decide(
    user_ids: Iterable[int],
    shop_id: int,
    *,
    category: str = Category.MARKETING,
    at: datetime | None = None,
    lock: bool = False,
) -> dict[int, str]:
    """{member id: SEND or a HoldReason} for a commercial message of `category` from the shop at `at`.

    `lock=True` (inside a transaction) locks the members' preference rows first, as the release job does, so
    the answer holds until commit. Four or five statements whatever the number of members."""
    if category not in Category.values or category == Category.TRANSACTIONAL:
        raise ValueError(f"not a commercial category: {category!r}")
    at = at or timezone.now()
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    if lock:
        preferences = {u: p for (u, _s), p in _lock_members([(u, shop_id) for u in ids]).items()}
        sent = {u: tuple(v) for (u, _s), v in _cap_counts([(u, shop_id) for u in ids], at).items()}
    else:
        preferences = {p.user_id: p for p in Preference.objects.filter(shop_id=shop_id, user_id__in=_ids(ids))}
        sent = commercial_sent_among(ids, shop_id, at)
    held = held_among(ids, shop_id)
    rules = settings_for(shop_id)
    answers = {}
    for user_id in ids:
        preference = preferences.get(user_id) or Preference(user_id=user_id, shop_id=shop_id)
        if not preference.receives(category):
            answers[user_id] = HoldReason.OPTED_OUT
        elif user_id in held:
            answers[user_id] = HoldReason.AFTER_SALES
        elif quiet_until(at, *quiet_hours(preference, rules)) is not None:
            answers[user_id] = HoldReason.QUIET_HOURS
        elif _over_cap(sent.get(user_id, (0, 0)), rules):
            answers[user_id] = HoldReason.CAPPED
        else:
            answers[user_id] = SEND
    return answers


def tally(answers: dict[int, str]) -> dict[str, int]:
    """How many members receive it and how many each rule leaves out: {"send": n, "opted_out": n, …}."""
    counts = Counter(answers.values())
    return {SEND: counts[SEND], **{str(reason): counts[reason] for reason in EXCLUSIONS}}


def send_now(items: list[Outgoing], *, at: datetime | None = None) -> tuple[dict[int, str], dict[int, int]]:
    """Decide and send the messages of one shop, one per member, in the caller's transaction (see the module).

    Returns the decision per member and {member id: notification id} of the messages written now (a key
    written before is left out, as with notify_many). Statements per call: the locks (two), the cap counts,
    the after-sales answers, the shop's rules, the INSERT, the members read, the release UPDATE and the
    deliveries' INSERT."""
    if not items:
        return {}, {}
    at = at or timezone.now()
    shop_ids = {item.shop_id for item in items}
    categories = {item.category for item in items}
    if len(shop_ids) != 1 or len(categories) != 1:
        raise ValueError("send_now takes the messages of one shop and one category")
    if len({item.user_id for item in items}) != len(items):
        raise ValueError("send_now takes one message per member")
    answers = decide([i.user_id for i in items], shop_ids.pop(), category=categories.pop(), at=at, lock=True)
    written = notify_many([i for i in items if answers[i.user_id] == SEND], now=at)
    if not written:
        return answers, {}
    notifications = list(Notification.objects.filter(pk__in=_ids(written.values())).select_related("user"))
    _release(notifications, at)
    return answers, {n.user_id: n.pk for n in notifications}
