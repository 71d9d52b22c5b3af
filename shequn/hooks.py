"""Every extension point of Shequn: named, typed hooks, each with its contract written where it is defined.

A lower app announces a hook (`orders` announces `order_paid`); an app above it connects a receiver from its
`AppConfig.ready`, so the lower app never imports the higher one. Nothing else plugs one app into another.

Each hook says:
- when its receivers run: INSIDE the announcing transaction (their writes commit or roll back with the
  change, under the announcer's row locks), AFTER_COMMIT (each receiver runs once the outermost transaction
  has committed and never after a rollback; its error is logged, never raised: the change is already
  committed), or as a READ (a question asked outside any promise about transactions);
- whether a receiver may refuse: where `refusable`, raising ValidationError refuses the change and rolls the
  transaction back; elsewhere a receiver must not raise (the change has happened: the money is taken);
- what receivers return: nothing (INSIDE and AFTER_COMMIT hooks ignore it), or, for a READ, an answer:
  `first()` is the first answer that is not empty, `answers()` yields them all.

Receivers run by priority, lowest first; two receivers of one hook never share a priority, so the order is
always the one written down, never INSTALLED_APPS order. The named priorities below say what runs when.
(After pretix's documented plug-in signals and Saleor's plug-in manager: a contract per hook, explicit order.)
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, ParamSpec, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Model

P = ParamSpec("P")
R = TypeVar("R")

# Priorities, lowest first. Bookkeeping of the change runs before anything that decides what it leads to,
# and messages to members run last, so that what they tell is what was decided.
RECORD = 100  # keep records of the change itself: referral events, repurchase due dates, member activity
DECIDE = 500  # decide what the change leads to: a group-buy seat or a bounce, a paid-entry seat or a refund
TELL = 900  # tell members about the outcome: after every decider


class When(StrEnum):
    INSIDE = "inside"
    AFTER_COMMIT = "after_commit"
    READ = "read"


class Hook(Generic[P, R]):
    """One extension point. `connect` receivers (from AppConfig.ready); the announcer calls `run`, or, for a
    READ, `first` / `answers`."""

    def __init__(self, name: str, *, when: When, refusable: bool = False) -> None:
        self.name, self.when, self.refusable = name, when, refusable
        self._receivers: list[tuple[int, Callable[P, R]]] = []

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {self.when}{', refusable' if self.refusable else ''}>"

    @property
    def receivers(self) -> list[tuple[int, Callable[P, R]]]:
        """(priority, receiver) pairs in the order they run."""
        return list(self._receivers)

    def connect(self, receiver: Callable[P, R], *, priority: int) -> Callable[P, R]:
        """Add a receiver at its priority. Connecting the same receiver again at the same priority changes
        nothing; a priority another receiver holds is refused: the order must be written down, not implied."""
        for taken, other in self._receivers:
            if other == receiver and taken == priority:
                return receiver
            if other == receiver or taken == priority:
                raise ImproperlyConfigured(
                    f"hook {self.name}: {receiver!r} at {priority} clashes with {other!r} at {taken}"
                )
        self._receivers.append((priority, receiver))
        self._receivers.sort(key=lambda pair: pair[0])
        return receiver

    def disconnect(self, receiver: Callable[P, R]) -> None:
        self._receivers = [pair for pair in self._receivers if pair[1] != receiver]

    def run(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every receiver in priority order: now (INSIDE), or each on commit (AFTER_COMMIT)."""
        if self.when == When.READ:
            raise TypeError(f"hook {self.name} is a read: ask it with first() or answers()")
        for _priority, receiver in list(self._receivers):
            if self.when == When.AFTER_COMMIT:
                transaction.on_commit(self._deferred(receiver, args, kwargs), robust=True)
            else:
                receiver(*args, **kwargs)

    def _deferred(self, receiver: Callable[P, R], args, kwargs) -> Callable[[], None]:
        def call() -> None:
            receiver(*args, **kwargs)

        # Django's log of a failed on-commit callback names it by its qualname: the hook and the receiver.
        call.__qualname__ = f"{self.name}: {getattr(receiver, '__qualname__', repr(receiver))}"
        return call

    def answers(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        """Each receiver's answer in priority order, asked lazily (stop early and the rest are not asked)."""
        if self.when != When.READ:
            raise TypeError(f"hook {self.name} runs receivers: announce it with run()")
        for _priority, receiver in list(self._receivers):
            yield receiver(*args, **kwargs)

    def first(self, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """The first answer that is not empty (None, "", {}), else None."""
        return next((answer for answer in self.answers(*args, **kwargs) if answer), None)


# --- Orders (announced by orders; models named in words, since this module sits below every app) ----------
#
# The INSIDE order hooks run in the transaction that changes the order, with the order's row locked; a
# receiver takes no lock that the order's other callers take before the order's (e.g. a group-buy team row
# is locked after its orders, never before). Campaigns dispatch each one to the kind that placed the order.

order_placing: Hook[[Model], None] = Hook("order_placing", when=When.INSIDE, refusable=True)
"""An orders.Order about to be inserted (not saved yet, no pk): receivers may fill its fields (referrals
sets `referrer`, the member's inviter in the shop; a member bound later by the order's own act gets it then,
through orders' set_referrer_if_unset). ValidationError refuses the order."""

order_created: Hook[[Model], None] = Hook("order_created", when=When.INSIDE, refusable=True)
"""An order was just placed (its lines and first transition written). ValidationError refuses it."""

order_paid: Hook[[Model], None] = Hook("order_paid", when=When.INSIDE)
"""An order moved to paid. Must not raise: the money is taken. A DECIDE receiver that cannot give what was
paid for (a full team, a full group) refunds instead; the order passed in is not refreshed, so a later
receiver that depends on the outcome reads the order's state again. Messages about the payment are TELL
receivers: written to the outbox after every decider, sent by it only after commit. A decider whose outcome
binds the payer to an inviter (a 拼团 seat's act) hands the order over with the binding (referrals'
record_join `paid_order`): referrals' RECORD receiver saw the payment before any edge existed."""

order_cancelled: Hook[[Model], None] = Hook("order_cancelled", when=When.INSIDE)
"""An unpaid order was cancelled and its stock given back. Must not raise (the member or the timeout
decided): receivers give back what the order held (a campaign's stock cap, a pending seat)."""

order_shipping: Hook[[Model], None] = Hook("order_shipping", when=When.INSIDE, refusable=True)
"""An operator is about to ship the order (its move to shipped follows in the same transaction).
ValidationError refuses the shipment: nothing is written (a group-buy team not yet succeeded, an entry fee)."""

order_refunded: Hook[[Model], None] = Hook("order_refunded", when=When.INSIDE)
"""An order was refunded in full and its stock given back. Must not raise: the money is returned."""

repurchase_reminded: Hook[[list], None] = Hook("repurchase_reminded", when=When.INSIDE)
"""(reminders): the orders.RepurchaseReminder rows a reminder batch has just written and notified (each
announced once: a rerun writes no reminder twice), with `member` loaded, inside the batch's transaction.
Must not raise: the reminders are sent. Receivers give what a reminder carries (the coupon type: one coupon
of the shop's reminder template per reminder)."""

repurchase_reminder_carries: Hook[[list], dict] = Hook("repurchase_reminder_carries", when=When.READ)
"""(reminders): asked once per reminder batch, in its transaction, after repurchase_reminded has run for the
same rows and before their messages are written. Each receiver answers {reminder id: words saying what it
gave with that reminder} (the coupon type: the coupon's name and face), for the reminders it gave something
to only; the message ends with those words. Receivers make the words once per thing given (a template), not
per member, and read in a constant number of statements. Must not raise."""

order_refund_succeeded: Hook[[Model], None] = Hook("order_refund_succeeded", when=When.INSIDE)
"""An orders.Refund of an order succeeded (its money is back with the member; partial or full, a returned
duplicate payment too: its key starts with "late-payment:"), once per refund, inside the transaction that
records it with the order's row locked, before order_refunded when it completes a full refund. Must not
raise: the money is returned. Receivers give back their share (points, in proportion to the money)."""

order_source_label: Hook[[Model], str | None] = Hook("order_source_label", when=When.READ)
"""Where an order came from, in words for operators, when a plug-in placed it (a campaign: 拼团活动「…」);
None for the order core's own sources. The first answer is used."""

order_page_after_payment: Hook[[Model], str | None] = Hook("order_page_after_payment", when=When.READ)
"""Where a member who has just paid for the order goes on: a URL (a 拼团 seat: the team page, where the
member invites friends), or None for the order page. Asked outside the order's transactions; first answer."""

sold_out_routes: Hook[[], Any] = Hook("sold_out_routes", when=When.READ)
"""() → an orders.soldout.EarlyRoute: an order form's URL (the checkout, a campaign's 立即抢购) whose POST the
order core may refuse from the sold-out flags before the session, the user and CSRF are loaded
(orders.early). Asked once per process; every answer is used."""

# Priorities of order_pricing receivers, lowest first: charges, then the price, then discounts, and points
# last, so that points pay what is left after every other discount.
PRICE_SHIPPING = 200  # a shipping charge
PRICE_CAMPAIGN = 300  # a campaign's price for its lines
PRICE_GIFT = 400  # a gift or free item
PRICE_COUPON = 500  # the member's coupon
PRICE_POINTS = 700  # the member's referral points

order_pricing: Hook[[Any], list] = Hook("order_pricing", when=When.READ, refusable=True)
"""(draft) → list[orders.pricing.Adjustment] (empty: nothing to add). `draft` is an orders.pricing.PricingDraft:
member, group, lines (sku_id, product_id, unit_price, quantity, line_total), `choices` (what the member chose
at checkout; each plug-in owns its keys: "coupon", "points"…), `source`, `quote_only`, and `adjustments`, the
answers of the receivers before this one (`draft.total` is what is left to pay: cap a discount at it).

Asked by orders.pricing.price_draft, receivers in priority order (PRICE_* above), each seeing the answers
before it. Twice per order: for a quote (`quote_only` True: checkout page, API quote; outside any
transaction — write nothing), and at placement inside the order's insert transaction, before the order row
exists (`quote_only` False; still write nothing: the order_created receiver finds its OrderAdjustment rows by
`source` and acts then, with the order). Refusable: ValidationError refuses the order (or the quote) with its
message. An answer that is not an Adjustment of a known kind, in whole fen, is a programming error."""

pricing_options: Hook[..., list[dict]] = Hook("pricing_options", when=When.READ)
"""Keyword arguments `member`, `group`, `lines` (orders.pricing.PricedLine list; on a campaign's checkout at
the campaign's price) and `source` (the order's source: "" for a plain order, "campaign:<id>" on a campaign's
checkout page, where a coupon not allowed with a campaign price is not offered) → what the checkout page
offers from this plug-in: a list of {"key": the choice key it reads in order_pricing, "label": words,
"choices": [(value, words)], "initial": the preselected value ("" for none), "help": optional words (a
balance), "max": optional, an int: the member types a whole number from 0 to it (how many points) instead of
picking one of `choices`}, or []. Asked outside any transaction, read only, when the checkout page or the API shows a
quote; every answer is listed, in priority order."""


product_offers: Hook[..., dict[int, list[dict]]] = Hook("product_offers", when=When.READ)
"""Keyword arguments `group` and `product_ids`: the offers running for the group's members on those products
(a campaign's price), shown on the group shop's cards and the product page with a link into the offer:
{product_id: [{"title": str, "kind": str, "price": Decimal, "url": str, "ends_at": datetime}]}, in a
constant number of queries whatever the number of products. Every answer is merged."""


# --- The site (announced by shequn) ---------------------------------------------------------------------

outboxes: Hook[..., list] = Hook("outboxes", when=When.READ)
"""Keyword arguments `shop_id` (None: every shop) and `now`: the app's outboxes as a list of (name, label,
shequn.outboxes.OutboxFigures), in a constant number of queries, for the jobs page and /healthz. Every
answer is listed, in priority order."""


# --- Shops (announced by shops) -------------------------------------------------------------------------

hard_cap_refusal: Hook[[Model, int], str | None] = Hook("hard_cap_refusal", when=When.READ)
"""(shop, new group_hard_cap) → why the shop's hard cap on group size cannot go that low, in words for the
operator (groups: some groups are bigger), or None. Asked inside the settings transaction, with the
settings row locked; the first answer refuses the change."""


audit_value_words: Hook[[type, str], dict | None] = Hook("audit_value_words", when=When.READ)
"""(model class, field name) → how the audit log shows the keys of that JSON field, as {key: (label,
{value: words})}, or None. Asked while a page of entries is shown, so it must run no query. First answer;
with none, a key is shown as it is stored."""


# --- Groups (announced by groups) -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkOpened:
    link: Model  # groups.InviteLink, its open already counted
    user: Any  # accounts.User, or an anonymous visitor, or None
    visitor_key: str  # a session or device id ("" when unknown)
    ip: str | None
    device: str


link_opened: Hook[[LinkOpened], None] = Hook("link_opened", when=When.INSIDE)
"""An invite link was opened, announced where the open is counted (in the caller's transaction if it has
one; the member pages count opens in autocommit). Must not raise: an open is never refused."""


@dataclass(frozen=True)
class LinkSignedIn:
    link: Model  # groups.InviteLink, its sign-in already counted
    user: Any  # accounts.User, signed in now
    ip: str | None
    device: str


link_signed_in: Hook[[LinkSignedIn], None] = Hook("link_signed_in", when=When.INSIDE)
"""Someone who opened an invite link signed out came back to it signed in (the funnel's "signed in" step),
announced where the sign-in is counted, like `link_opened`. Must not raise."""


@dataclass(frozen=True)
class MemberJoined:
    membership: Model  # groups.Membership, active now (its group, user, inviter, link and channel set)
    first_time_in_group: bool  # False for a re-join after leaving
    ip: str | None
    device: str


member_joined: Hook[[MemberJoined], None] = Hook("member_joined", when=When.INSIDE)
"""A person became an active member, inside the join's transaction (locks taken in groups' order: link,
membership, group, series; a receiver locks only rows below those). Must not raise: the seat is decided."""

paid_entry_checkout: Hook[..., str | None] = Hook("paid_entry_checkout", when=When.READ)
"""Keyword arguments `user`, `group`, `link` (a groups.InviteLink or None): start (or resume) the member's
entry fee payment for a paid-entry group and answer the URL where they pay (orders: the entry order's page).
Asked outside any transaction; may raise ValidationError (the member is told why). First answer; with no
answer paid entry is unavailable."""

group_created: Hook[[Model], None] = Hook("group_created", when=When.INSIDE)
"""A new groups.Group was created (by an operator, the demo, or a series opening its next group), inside the
creating transaction, its tags set. Must not raise: a receiver that cannot do its part leaves it undone
(playbooks: no matching playbook, no run)."""

group_health_figures: Hook[[list[int], Any, Any], dict[int, dict]] = Hook("group_health_figures", when=When.READ)
"""More figures for the groups' weekly health snapshot: (group_ids, start, end) → {group_id: {figure: value}}
for the week [start, end), in a constant number of queries. Every answer is merged."""


group_offers: Hook[[Model, Any], list[dict]] = Hook("group_offers", when=When.READ)
"""What runs for a group's members now, listed on the member's group page and the group shop so one tap
reaches it: (group, member) → [{"title": str, "kind": str, "offer": str, "url": str, "ends_at": datetime,
"price": Decimal or None, "mine": the member's own part in it as {"summary": str, "url": str, "ends_at":
datetime or None}, or None}], in a number of queries that does not grow with the offers (nor does the
member's part: a plug-in asks it for all its offers at once). Every answer is listed."""

# --- Referrals (announced by referrals) ------------------------------------------------------------------

campaign_choices: Hook[[int], list[tuple[int, str]]] = Hook("campaign_choices", when=When.READ)
"""The shop's campaigns a leaderboard can be scoped to: (shop_id) → [(campaign_id, name)]. Every answer is
listed."""

# --- Notifications (announced by notifications) ----------------------------------------------------------

member_shop_ties: Hook[[Any], Any] = Hook("member_shop_ties", when=When.READ)
"""(user) → a condition on shops.Shop (an Exists over OuterRef("pk"), or a Q) true for the shops the member
belongs to (groups: they are in, or ask to be in, one of its groups). Every answer is OR-ed with the shops
that wrote to the member: the shops whose messages they may set preferences for."""

notification_first_read: Hook[[Model], None] = Hook("notification_first_read", when=When.INSIDE)
"""A member read a notification for the first time (inside the transaction that stamps read_at). Must not
raise: reading is never refused."""

marketing_held: Hook[..., bool] = Hook("marketing_held", when=When.READ)
"""Keyword arguments `member` (a user or a user id) and `shop_id`: True when no commercial message may go to
the member now (an open after-sales case). Asked when a message is released; any True answer holds it."""

marketing_held_among: Hook[..., set[int]] = Hook("marketing_held_among", when=When.READ)
"""The batch shape of `marketing_held`: keyword arguments `members` (a collection of user ids) and `shop_id`
→ the set of those ids to whom no commercial message may go now, in a constant number of queries whatever
the batch size. Must answer exactly as `marketing_held` would for each member; every answer is unioned."""


referral_event_recorded: Hook[[Model], None] = Hook("referral_event_recorded", when=When.INSIDE)
"""One new referrals.ReferralEvent (never announced for a duplicate), inside the recording transaction — or,
when it was recorded with no transaction open, right after its single INSERT committed by itself (so a
receiver that writes rows gets them committed apart). Must not raise; a receiver that writes outside
PostgreSQL (Redis boards) does so on commit, which is at once in that case."""

referral_events_voided: Hook[[list], None] = Hook("referral_events_voided", when=When.INSIDE)
"""The referral events a void just stamped (never one voided before), inside the voiding transaction.
Must not raise; writes outside PostgreSQL on commit."""

referral_reward_granted: Hook[[Model], None] = Hook("referral_reward_granted", when=When.INSIDE)
"""A referrals.Reward moved pending → granted (its review period over, no fraud hold), once, inside the
granting transaction. Must not raise: the reward is granted. Receivers give what the reward stands for (a
coupon reward: the campaigns' coupon type gives both sides a coupon)."""

fraud_flag_confirmed: Hook[[Model], None] = Hook("fraud_flag_confirmed", when=When.INSIDE)
"""A referrals.FraudFlag was confirmed (by a reviewer or its deadline), once, inside the deciding
transaction, after its events were voided. Must not raise: the decision is made. Receivers take back what
the flagged member holds (the coupon type voids their available coupons)."""
