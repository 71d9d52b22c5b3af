"""换 Swaps: members of the campaign's groups list items to swap or sell second-hand, browse the listings of
their groups and make offers (an item of theirs or a price); the two sides agree, both confirm the
hand-over, and the swap is done.

Rules and where each is decided:
- a listing is seen by the active members of its group, the parties of a swap on it and the shop's staff;
  a hidden one by its owner and those who may hide (the group's 群主/管理员, the shop's operators) only;
- the state machines are the two tables LISTING_MOVES and SWAP_MOVES; `_move_swap` / `_move_listing` apply a
  move and record it (a SwapMove with who and when) in the caller's transaction;
- agreeing locks the swap's items (the listing asked for and the item offered, in primary-key order) and
  moves each from `listed` to `agreed`, so of two offers accepted at once one agrees and the other is
  refused; partial unique indexes refuse a second live swap of an item whatever slips past;
- every move of a swap first locks the swap's row, so a double tap on 确认交接 waits, finds the side's
  confirmation made and records nothing; the unique (swap, to_state) of moves backs it;
- offers unanswered after the campaign's `offer_hours` and listings not swapped after `listing_days` expire
  (`expire_due`, run by the engine's periodic job; each in its own transaction, safe to run twice);
- money in a priced swap is arranged between the members: the platform takes no payment for it;
- reports go to the operators; they hide a listing, warn a member under the group's 群规 (groups.enforcement)
  or remove them from the campaign's swaps (their listed items and open offers close), each in the shop's
  audit log; a group's 群主/管理员 with the hide power hides listings of their own group.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.models import Campaign, CampaignState, CampaignType
from campaigns.types.assisted.refusals import ActRefused
from campaigns.types.base import CampaignKind
from groups import powers
from groups.models import Group, Membership, MembershipStatus
from groups.powers import GroupPower
from shequn import images
from shops import audit

from .models import (
    NOTE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    WANTED_MAX_LENGTH,
    Handover,
    ListingState,
    ReportState,
    Swap,
    SwapBan,
    SwapListing,
    SwapMove,
    SwapPhoto,
    SwapReport,
    SwapState,
)

MAX_PHOTOS = 6
MAX_PRICE = Decimal("99999999.99")
LISTED_ON_PAGE = 60


class SwapRefused(ActRefused):
    """A swap act that cannot happen, with a reason code the pages and the API show in words."""

    MESSAGES = {
        **ActRefused.MESSAGES,
        "not_member": gettext_lazy("请先加入活动所在的群，再来换物。"),
        "banned": gettext_lazy("你已被移出本活动的换物，不能发布或出价。"),
        "not_listed": gettext_lazy("这件物品已下架或已与他人约定。"),
        "own_listing": gettext_lazy("不能对自己的物品出价。"),
        "offered_item": gettext_lazy("用来交换的物品须是你自己在本活动中可交换的物品。"),
        "offer_something": gettext_lazy("请选择一件你的物品，或填写出价。"),
        "already_offered": gettext_lazy("你已经对这件物品出过价了，等对方回应吧。"),
        "item_taken": gettext_lazy("有物品已在另一笔约定的交换中，无法约定。"),
        "not_allowed": gettext_lazy("当前状态下不能这样操作。"),
        "already_confirmed": gettext_lazy("你已经确认过交接了，等对方确认。"),
        "group": gettext_lazy("请选择活动所在的、你已加入的群。"),
    }


# --- The state machines: one table each, one function each that applies and records a move --------------

OWNER, OFFERER, SYSTEM, OPERATOR = "owner", "offerer", "system", "operator"
PARTIES = frozenset({OWNER, OFFERER})

# (from, to) → who may make the move: the listing's owner, the offerer, the expiry job / a rule (system), an
# operator of the shop (a removal from swaps, a dispute's resolution).
SWAP_MOVES: dict[tuple[str, str], frozenset[str]] = {
    (SwapState.OFFERED, SwapState.AGREED): frozenset({OWNER}),
    # declined by the owner, or by the rule when the item went to another offer or was taken down
    (SwapState.OFFERED, SwapState.DECLINED): frozenset({OWNER, SYSTEM}),
    (SwapState.OFFERED, SwapState.WITHDRAWN): frozenset({OFFERER, SYSTEM, OPERATOR}),
    (SwapState.OFFERED, SwapState.EXPIRED): frozenset({SYSTEM}),
    (SwapState.AGREED, SwapState.WITHDRAWN): PARTIES,  # called off before anything changed hands
    (SwapState.AGREED, SwapState.HANDED_ONE): PARTIES,
    (SwapState.AGREED, SwapState.DISPUTED): PARTIES,
    (SwapState.HANDED_ONE, SwapState.DONE): PARTIES,  # the other side's confirmation
    (SwapState.HANDED_ONE, SwapState.DISPUTED): PARTIES,
    (SwapState.DISPUTED, SwapState.DONE): frozenset({OPERATOR}),
    (SwapState.DISPUTED, SwapState.CANCELLED): frozenset({OPERATOR}),
}

LISTING_MOVES: dict[tuple[str, str], frozenset[str]] = {
    (ListingState.LISTED, ListingState.AGREED): PARTIES,  # the asked-for item and the item offered
    (ListingState.AGREED, ListingState.LISTED): PARTIES | {OPERATOR},  # its swap was called off
    (ListingState.AGREED, ListingState.DONE): PARTIES | {OPERATOR},
    (ListingState.LISTED, ListingState.WITHDRAWN): frozenset({OWNER}),
    (ListingState.LISTED, ListingState.EXPIRED): frozenset({SYSTEM}),
    (ListingState.LISTED, ListingState.REMOVED): frozenset({OPERATOR}),
}

CLOSED_SWAP_STATES = (
    SwapState.DONE,
    SwapState.WITHDRAWN,
    SwapState.DECLINED,
    SwapState.EXPIRED,
    SwapState.CANCELLED,
)


def _move_swap(swap: Swap, to: str, *, role: str, by, now: datetime, note: str = "", **fields) -> Swap:
    """Move a (locked) swap to `to` if SWAP_MOVES lets `role` make it, and record the move (who, when)."""
    if role not in SWAP_MOVES.get((swap.state, to), ()):
        raise SwapRefused("not_allowed")
    before = swap.state
    swap.state = to
    if to in CLOSED_SWAP_STATES:
        fields["closed_at"] = now
    for name, value in fields.items():
        setattr(swap, name, value)
    swap.save(update_fields=["state", *fields])
    SwapMove.objects.create(
        listing_id=swap.listing_id, swap=swap, of_swap=True, from_state=before, to_state=to, by=by, at=now, note=note
    )
    return swap


def _move_listing(
    listing: SwapListing, to: str, *, role: str, by, now: datetime, swap: Swap | None = None, note: str = ""
) -> SwapListing:
    """Move a (locked) listing to `to` if LISTING_MOVES lets `role` make it, and record the move."""
    if role not in LISTING_MOVES.get((listing.state, to), ()):
        raise SwapRefused("not_listed")
    before = listing.state
    listing.state = to
    listing.save(update_fields=["state"])
    SwapMove.objects.create(listing=listing, swap=swap, from_state=before, to_state=to, by=by, at=now, note=note)
    return listing


# --- Settings ---------------------------------------------------------------------------------------------


def _bounded_int(settings: dict, name: str, errors: dict, *, default: int, maximum: int, message: str) -> int | None:
    value = settings.get(name)
    try:
        number = default if value in (None, "") else int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= maximum:
        errors[name] = message
        return None
    return number


def clean_swap_settings(*, settings: dict) -> dict:
    """listing_days (a listing not swapped closes after N days, 1–180), offer_hours (an offer unanswered
    expires after N hours, 1–720)."""
    errors: dict[str, str] = {}
    days = _bounded_int(
        settings, "listing_days", errors, default=30, maximum=180, message=_("物品有效天数须在 1–180 之间。")
    )
    hours = _bounded_int(
        settings, "offer_hours", errors, default=72, maximum=720, message=_("出价回应时限须在 1–720 小时之间。")
    )
    if errors:
        raise ValidationError(errors)
    return {"listing_days": days, "offer_hours": hours}


@dataclass(frozen=True)
class Rules:
    listing_days: int
    offer_hours: int

    @classmethod
    def of(cls, campaign: Campaign) -> "Rules":
        s = campaign.settings or {}
        return cls(listing_days=int(s.get("listing_days", 30)), offer_hours=int(s.get("offer_hours", 72)))


# --- Who may see and act ------------------------------------------------------------------------------------


def member_groups(campaign: Campaign, user) -> list[Group]:
    from campaigns import services

    if user is None or not user.is_authenticated:
        return []
    return services.member_groups_for(campaign, user)


def is_banned(campaign: Campaign, user) -> bool:
    return SwapBan.objects.filter(campaign=campaign, member=user).exists()


def _active_member(user, group_id: int) -> bool:
    return Membership.objects.filter(user=user, group_id=group_id, status=MembershipStatus.ACTIVE).exists()


def _live_party(user, listing: SwapListing):
    """Swaps not closed in which `user` is a party and `listing` is one of the items."""
    return Swap.objects.filter(Q(listing=listing) | Q(offered_listing=listing)).filter(Q(owner=user) | Q(offerer=user))


def can_see_listing(user, listing: SwapListing) -> bool:
    """The listing's group's active members (a hidden listing: its owner and who may hide there), the
    parties of a swap on it."""
    if user is None or not user.is_authenticated:
        return False
    if listing.owner_id == user.pk:
        return True
    if listing.is_hidden:
        return powers.has_power(user, listing.group, GroupPower.HIDE_POSTS)
    return _active_member(user, listing.group_id) or _live_party(user, listing).exists()


def listing_for_member(user, pk: int) -> SwapListing:
    """The listing `pk` if `user` may see it and its campaign is public; a 404 otherwise."""
    from campaigns.selectors import PUBLIC_STATES

    listing = (
        SwapListing.objects.select_related("campaign", "group", "owner")
        .filter(pk=pk, campaign__type=CampaignType.SWAP, campaign__state__in=PUBLIC_STATES)
        .first()
    )
    if listing is None or not can_see_listing(user, listing):
        raise Http404
    return listing


def swap_for_party(user, pk: int) -> Swap:
    """The swap `pk` if `user` is one of its two members; a 404 for anyone else."""
    swap = (
        Swap.objects.select_related("campaign", "listing", "listing__group", "offered_listing", "owner", "offerer")
        .filter(pk=pk)
        .filter(Q(owner_id=getattr(user, "pk", None)) | Q(offerer_id=getattr(user, "pk", None)))
        .first()
    )
    if swap is None:
        raise Http404
    return swap


def photo_for_member(user, pk: int) -> SwapPhoto:
    photo = SwapPhoto.objects.select_related("listing", "listing__group").filter(pk=pk).first()
    if photo is None or not can_see_listing(user, photo.listing):
        raise Http404
    return photo


# --- Reads ------------------------------------------------------------------------------------------------


def _with_photos(qs: QuerySet) -> QuerySet:
    return qs.select_related("owner", "group").prefetch_related(
        Prefetch("photos", queryset=SwapPhoto.objects.order_by("position", "pk"))
    )


def browse(campaign: Campaign, user, *, group_id: int | None = None) -> list[SwapListing]:
    """The listed, shown items of the campaign in the member's groups (or one of them), newest first:
    a constant number of queries however many there are."""
    groups = [g.pk for g in member_groups(campaign, user)]
    if group_id is not None:
        groups = [pk for pk in groups if pk == group_id]
    qs = SwapListing.objects.filter(
        campaign=campaign, group_id__in=groups, state=ListingState.LISTED, hidden_at__isnull=True
    )
    return list(_with_photos(qs).order_by("-created_at", "-pk")[:LISTED_ON_PAGE])


def my_listings(campaign: Campaign, user) -> list[SwapListing]:
    qs = SwapListing.objects.filter(campaign=campaign, owner=user).annotate(
        open_offers=Count("swaps", filter=Q(swaps__state=SwapState.OFFERED))
    )
    return list(_with_photos(qs).order_by("-created_at", "-pk")[:LISTED_ON_PAGE])


def my_swaps(user, *, campaign: Campaign | None = None) -> list[Swap]:
    qs = Swap.objects.filter(Q(owner=user) | Q(offerer=user))
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return list(
        qs.select_related("listing", "offered_listing", "owner", "offerer", "campaign").order_by("-created_at", "-pk")[
            :LISTED_ON_PAGE
        ]
    )


def offers_on(listing: SwapListing) -> list[Swap]:
    return list(listing.swaps.select_related("offerer", "offered_listing").order_by("-created_at", "-pk"))


def offerable_items(campaign: Campaign, user) -> list[SwapListing]:
    """The member's own items they may offer in exchange: listed and shown, in this campaign."""
    return list(
        SwapListing.objects.filter(
            campaign=campaign, owner=user, state=ListingState.LISTED, hidden_at__isnull=True
        ).order_by("-created_at", "-pk")
    )


# --- Listing ----------------------------------------------------------------------------------------------


def _clean_words(value: str, *, field: str, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("请填写此项。")})
    if len(value) > limit:
        raise ValidationError({field: _("不能超过 %(n)d 个字。") % {"n": limit}})
    return value


def clean_price(value, *, field: str = "price") -> Decimal | None:
    """A price in yuan with at most two decimals, 0–99999999.99; None when empty."""
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({field: _("请填写有效的金额，例如 25 或 25.50。")}) from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise ValidationError({field: _("请填写有效的金额，例如 25 或 25.50。")})
    return price.quantize(Decimal("0.01"))


def _require_running(campaign: Campaign, now: datetime) -> None:
    if campaign.state != CampaignState.RUNNING or not (campaign.starts_at <= now < campaign.ends_at):
        raise SwapRefused("not_running")


def _store_photos(photos) -> list:
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("最多上传 %(n)d 张照片。") % {"n": MAX_PHOTOS}})
    try:
        return [images.clean_image(photo, bounds=images.PHOTO) for photo in photos]
    except ValidationError as error:
        raise ValidationError({"photos": error.messages}) from None


def create_listing(
    *,
    campaign: Campaign,
    member,
    group: Group,
    title: str,
    description: str = "",
    wanted: str = "",
    price=None,
    handover: str = Handover.PICKUP,
    photos=(),
    now: datetime | None = None,
) -> SwapListing:
    """A member lists an item in one of the campaign's groups they are in. It wants something in return,
    or a price, or both; it is listed until `listing_days` pass."""
    now = now or timezone.now()
    _require_running(campaign, now)
    if group is None or group.pk not in {g.pk for g in member_groups(campaign, member)}:
        raise SwapRefused("group")
    if is_banned(campaign, member):
        raise SwapRefused("banned")
    title = _clean_words(title, field="title", limit=TITLE_MAX_LENGTH, required=True)
    description = _clean_words(description, field="description", limit=TEXT_MAX_LENGTH)
    wanted = _clean_words(wanted, field="wanted", limit=WANTED_MAX_LENGTH)
    price = clean_price(price)
    if not wanted and price is None:
        raise ValidationError({"wanted": _("请写想换什么，或填写转让价。")})
    if handover not in Handover.values:
        raise ValidationError({"handover": _("请选择交付方式。")})
    clean = _store_photos(photos)
    with transaction.atomic():
        listing = SwapListing.objects.create(
            campaign=campaign,
            group=group,
            owner=member,
            title=title,
            description=description,
            wanted=wanted,
            price=price,
            handover=handover,
            share_token=secrets.token_hex(16),
            created_at=now,
            expires_at=now + timedelta(days=Rules.of(campaign).listing_days),
        )
        for position, image in enumerate(clean):
            SwapPhoto.objects.create(listing=listing, image=image, position=position)
        SwapMove.objects.create(listing=listing, from_state="", to_state=ListingState.LISTED, by=member, at=now)
    return listing


def _locked_listing(listing: SwapListing) -> SwapListing:
    return SwapListing.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=listing.pk)


def withdraw_listing(*, listing: SwapListing, member, now: datetime | None = None) -> SwapListing:
    """Its owner takes a listed item down; the open offers on it are declined (and those offering it)."""
    now = now or timezone.now()
    with transaction.atomic():
        listing = _locked_listing(listing)
        if listing.owner_id != member.pk:
            raise Http404
        if listing.state != ListingState.LISTED:
            raise SwapRefused("not_listed")
        _move_listing(listing, ListingState.WITHDRAWN, role=OWNER, by=member, now=now)
        _close_open_offers(listing, by=member, now=now, note=_("物品已下架"))
    return listing


def _close_open_offers(listing: SwapListing, *, by, now: datetime, note: str, exclude: int | None = None) -> int:
    """Close the open offers on `listing` (declined) and those offering it (withdrawn): it is not listed any more.
    Each offer row is locked first (its own moves take the same lock)."""
    closed = 0
    open_offers = Swap.objects.filter(Q(listing=listing) | Q(offered_listing=listing), state=SwapState.OFFERED)
    if exclude is not None:
        open_offers = open_offers.exclude(pk=exclude)
    for swap in open_offers.select_for_update().order_by("pk"):
        to = SwapState.DECLINED if swap.listing_id == listing.pk else SwapState.WITHDRAWN
        _move_swap(swap, to, role=SYSTEM, by=by, now=now, note=note)
        closed += 1
    return closed


# --- Offers -----------------------------------------------------------------------------------------------


def make_offer(
    *,
    listing: SwapListing,
    member,
    offered_listing: SwapListing | None = None,
    price=None,
    message: str = "",
    now: datetime | None = None,
) -> Swap:
    """A member of the listing's group offers an item of theirs (listed in this campaign) or a price. One open
    offer per member and listing (a partial unique index decides when two taps race)."""
    now = now or timezone.now()
    campaign = listing.campaign
    _require_running(campaign, now)
    if listing.owner_id == member.pk:
        raise SwapRefused("own_listing")
    if not _active_member(member, listing.group_id):
        raise SwapRefused("not_member")
    if is_banned(campaign, member):
        raise SwapRefused("banned")
    if listing.state != ListingState.LISTED or listing.is_hidden or listing.expires_at <= now:
        raise SwapRefused("not_listed")
    price = clean_price(price)
    if offered_listing is not None and (
        offered_listing.owner_id != member.pk
        or offered_listing.campaign_id != campaign.pk
        or offered_listing.state != ListingState.LISTED
        or offered_listing.is_hidden
    ):
        raise SwapRefused("offered_item")
    if offered_listing is None and price is None:
        raise SwapRefused("offer_something")
    message = _clean_words(message, field="message", limit=NOTE_MAX_LENGTH)
    try:
        with transaction.atomic():
            swap = Swap.objects.create(
                campaign=campaign,
                listing=listing,
                owner_id=listing.owner_id,
                offerer=member,
                offered_listing=offered_listing,
                price=price,
                message=message,
                created_at=now,
                expires_at=now + timedelta(hours=Rules.of(campaign).offer_hours),
            )
            SwapMove.objects.create(
                listing=listing, swap=swap, of_swap=True, from_state="", to_state=SwapState.OFFERED, by=member, at=now
            )
            _tell(swap, swap.owner_id, "swap_offer", _("你的「%(title)s」收到新出价"))
    except IntegrityError as exc:
        if "swap_one_open_offer_per_member" in str(exc):
            raise SwapRefused("already_offered") from None
        raise
    return swap


def _locked_swap(swap: Swap) -> Swap:
    """The swap's row, locked until commit: every move of a swap takes it first, so moves run one at a time."""
    return Swap.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=swap.pk)


def _check_party(swap: Swap, user, who: str | None = None) -> str:
    side = swap.party(user)
    if side is None:
        raise Http404
    if who in (OWNER, OFFERER) and side != who:
        raise SwapRefused("not_allowed")
    return side


def _lock_items(swap: Swap) -> list[SwapListing]:
    """The swap's items (the listing asked for and the item offered), locked in primary-key order: the guard of
    an agreement. Agreeing takes them before the swap's own row, so two agreements of one item queue here."""
    ids = sorted(pk for pk in (swap.listing_id, swap.offered_listing_id) if pk)
    return list(SwapListing.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _hold_items(swap: Swap, items: list[SwapListing], *, by, now: datetime) -> None:
    """Move the (locked) items from listed to agreed: of two swaps of one item agreed at once, the second finds
    it agreed and is refused."""
    if len(items) != len({swap.listing_id, swap.offered_listing_id} - {None}):
        raise SwapRefused("item_taken")
    if any(item.state != ListingState.LISTED or item.is_hidden for item in items):
        raise SwapRefused("item_taken")
    for item in items:
        _move_listing(item, ListingState.AGREED, role=OWNER, by=by, now=now, swap=swap)


def agree(*, swap: Swap, member, now: datetime | None = None) -> Swap:
    """The listing's owner accepts an offer: both items become agreed (one live agreed swap each, decided by
    their locked rows and the partial unique indexes), the other open offers on them close.

    Lock order: the items, then this swap, then the other open offers on the items (every other move locks a
    swap first and then only items that are agreed, which no agreement can be holding)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            items = _lock_items(swap)
            swap = _locked_swap(swap)
            _check_party(swap, member, OWNER)
            if swap.state != SwapState.OFFERED or swap.expires_at <= now:
                raise SwapRefused("not_allowed")
            _hold_items(swap, items, by=member, now=now)
            _move_swap(swap, SwapState.AGREED, role=OWNER, by=member, now=now, agreed_at=now)
            note = _("物品已与他人约定")
            _close_open_offers(swap.listing, by=member, now=now, note=note, exclude=swap.pk)
            if swap.offered_listing_id:
                _close_open_offers(swap.offered_listing, by=member, now=now, note=note, exclude=swap.pk)
            _tell(swap, swap.offerer_id, "swap_agreed", _("「%(title)s」的交换已约定"))
    except IntegrityError as exc:
        if "agreed_swap" not in str(exc):
            raise
        raise SwapRefused("item_taken") from None
    return swap


def decline(*, swap: Swap, member, now: datetime | None = None) -> Swap:
    now = now or timezone.now()
    with transaction.atomic():
        swap = _locked_swap(swap)
        _check_party(swap, member, OWNER)
        _move_swap(swap, SwapState.DECLINED, role=OWNER, by=member, now=now)
        _tell(swap, swap.offerer_id, "swap_declined", _("「%(title)s」的出价未被接受"))
    return swap


def _release_items(swap: Swap, *, role: str, by, now: datetime, to: str) -> None:
    """The swap's items leave `agreed`: back to listed (the swap was called off) or done."""
    ids = sorted(pk for pk in (swap.listing_id, swap.offered_listing_id) if pk)
    for item in SwapListing.objects.select_for_update().filter(pk__in=ids, state=ListingState.AGREED).order_by("pk"):
        _move_listing(item, to, role=role, by=by, now=now, swap=swap)


def withdraw(*, swap: Swap, member, now: datetime | None = None) -> Swap:
    """The offerer withdraws an open offer; either side calls off an agreed swap before any hand-over (the
    items are listed again)."""
    now = now or timezone.now()
    with transaction.atomic():
        swap = _locked_swap(swap)
        side = _check_party(swap, member)
        if swap.state == SwapState.OFFERED and side != OFFERER:
            raise SwapRefused("not_allowed")
        was_agreed = swap.state == SwapState.AGREED
        _move_swap(swap, SwapState.WITHDRAWN, role=side, by=member, now=now)
        if was_agreed:
            _release_items(swap, role=side, by=member, now=now, to=ListingState.LISTED)
            other = swap.offerer_id if side == OWNER else swap.owner_id
            _tell(swap, other, "swap_withdrawn", _("「%(title)s」的交换已被对方取消"))
    return swap


def confirm_handover(*, swap: Swap, member, now: datetime | None = None) -> Swap:
    """One side confirms the hand-over; the second confirmation makes the swap done and its items swapped.
    Exactly one move per confirmation: the swap's row lock orders a double tap, which finds its side
    confirmed and is refused (the unique (swap, to_state) of moves backs it)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            swap = _locked_swap(swap)
            side = _check_party(swap, member)
            stamp = "owner_handed_at" if side == OWNER else "offerer_handed_at"
            if swap.state not in (SwapState.AGREED, SwapState.HANDED_ONE):
                raise SwapRefused("not_allowed")
            if getattr(swap, stamp) is not None:
                raise SwapRefused("already_confirmed")
            if swap.state == SwapState.AGREED:
                _move_swap(swap, SwapState.HANDED_ONE, role=side, by=member, now=now, **{stamp: now})
                other = swap.offerer_id if side == OWNER else swap.owner_id
                _tell(swap, other, "swap_handed", _("对方已确认「%(title)s」交接，请你也确认"))
            else:
                _move_swap(swap, SwapState.DONE, role=side, by=member, now=now, **{stamp: now})
                _release_items(swap, role=side, by=member, now=now, to=ListingState.DONE)
    except IntegrityError as exc:
        if "swap_move_once_per_state" not in str(exc):
            raise
        raise SwapRefused("already_confirmed") from None
    return swap


def dispute(*, swap: Swap, member, note: str, now: datetime | None = None) -> Swap:
    """Either side of an agreed swap says something went wrong; an operator decides (resolve_dispute)."""
    now = now or timezone.now()
    note = _clean_words(note, field="note", limit=NOTE_MAX_LENGTH, required=True)
    with transaction.atomic():
        swap = _locked_swap(swap)
        side = _check_party(swap, member)
        _move_swap(swap, SwapState.DISPUTED, role=side, by=member, now=now, note=note)
        other = swap.offerer_id if side == OWNER else swap.owner_id
        _tell(swap, other, "swap_disputed", _("「%(title)s」的交换有争议，运营会介入处理"))
    return swap


def resolve_dispute(*, swap: Swap, by, done: bool, note: str = "", now: datetime | None = None) -> Swap:
    """An operator of the swap's shop (the view checked the seat) closes a disputed swap: done (the items are
    swapped) or cancelled (they are listed again). Audited."""
    now = now or timezone.now()
    note = _clean_words(note, field="note", limit=NOTE_MAX_LENGTH)
    with transaction.atomic():
        swap = _locked_swap(swap)
        to = SwapState.DONE if done else SwapState.CANCELLED
        _move_swap(swap, to, role=OPERATOR, by=by, now=now, note=note)
        _release_items(swap, role=OPERATOR, by=by, now=now, to=ListingState.DONE if done else ListingState.LISTED)
        audit.record(
            shop=swap.campaign.shop_id,
            by=by,
            action="campaign.swap.resolve",
            target=swap,
            before={"state": SwapState.DISPUTED},
            after={"state": to, "note": note},
            label=str(swap.listing.title),
        )
        for user_id in (swap.owner_id, swap.offerer_id):
            _tell(swap, user_id, f"swap_{to}", _("「%(title)s」的争议已处理"))
    return swap


def _tell(swap: Swap, user_id: int, kind: str, title: str) -> None:
    """Tell one side of a swap what happened, once per swap, kind and person (the outbox)."""
    from notifications.services import notify

    listing_title = swap.listing.title if swap.listing_id else ""
    notify(
        shop=swap.campaign.shop_id,
        user=user_id,
        category="transactional",
        kind=kind,
        key=f"swap:{swap.pk}:{kind}:{user_id}",
        title=title % {"title": listing_title[:30]},
        body=_("打开查看详情。"),
        url=django_settings.SITE_URL + reverse("campaigns:swap_detail", args=[swap.pk]),
    )


# --- Expiry -----------------------------------------------------------------------------------------------


def expire_offers(*, now: datetime) -> int:
    """Open offers past their time to answer → expired, each under its row's lock (safe to run twice)."""
    expired = 0
    due = Swap.objects.filter(state=SwapState.OFFERED, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due[:500]):
        with transaction.atomic():
            swap = Swap.objects.select_for_update(skip_locked=True).filter(pk=pk, state=SwapState.OFFERED).first()
            if swap is not None:
                _move_swap(swap, SwapState.EXPIRED, role=SYSTEM, by=None, now=now)
                expired += 1
    return expired


def expire_listings(*, now: datetime) -> int:
    """Listed items past their days → expired, with their open offers (safe to run twice)."""
    due = SwapListing.objects.filter(state=ListingState.LISTED, expires_at__lte=now)
    expired = 0
    for pk in list(due.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            listing = (
                SwapListing.objects.select_for_update(skip_locked=True).filter(pk=pk, state=ListingState.LISTED).first()
            )
            if listing is not None:
                _move_listing(listing, ListingState.EXPIRED, role=SYSTEM, by=None, now=now)
                for swap in Swap.objects.select_for_update().filter(
                    Q(listing=listing) | Q(offered_listing=listing), state=SwapState.OFFERED
                ):
                    _move_swap(swap, SwapState.EXPIRED, role=SYSTEM, by=None, now=now)
                expired += 1
    return expired


# --- Reports and moderation ------------------------------------------------------------------------------


def report(*, campaign: Campaign, reporter, member=None, listing: SwapListing | None = None, reason: str) -> SwapReport:
    """A member reports a listing (and its owner) or a member of a group they share in this campaign."""
    reason = _clean_words(reason, field="reason", limit=NOTE_MAX_LENGTH, required=True)
    if listing is not None:
        if not can_see_listing(reporter, listing):
            raise Http404
        member_id, group = listing.owner_id, listing.group
    else:
        shared = [g for g in member_groups(campaign, reporter) if _active_member(member, g.pk)]
        if member is None or not shared:
            raise Http404
        member_id, group = member.pk, shared[0]
    if member_id == reporter.pk:
        raise ValidationError({"reason": _("不能举报自己。")})
    try:
        with transaction.atomic():
            return SwapReport.objects.create(
                campaign=campaign, group=group, listing=listing, member_id=member_id, reporter=reporter, reason=reason
            )
    except IntegrityError:
        raise ValidationError({"reason": _("你已经举报过了，请等待处理。")}) from None


def set_hidden(*, listing: SwapListing, by, hidden: bool, now: datetime | None = None) -> SwapListing:
    """Hide a listing from its group (or show it again): the shop's operators, or the group's 群主/管理员 with the
    hide power in their own group (groups.powers decides; a 403 otherwise). Audited; a conditional UPDATE
    makes hiding twice change nothing twice (groups.hideable)."""
    powers.check_power(by, listing.group, GroupPower.HIDE_POSTS)
    with transaction.atomic():
        if listing.set_hidden(hidden, by=by, now=now):
            audit.record(
                shop=listing.campaign.shop_id,
                by=by,
                action="campaign.swap.hide" if hidden else "campaign.swap.show",
                target=listing,
                before={"hidden": not hidden},
                after={"hidden": hidden},
                label=f"{listing.title} @ {listing.group.name}",
            )
    return listing


def ban(*, campaign: Campaign, member, by, reason: str, now: datetime | None = None) -> SwapBan:
    """An operator removes a member from the campaign's swaps: their listed items are removed and their open
    offers withdrawn (agreed swaps run on: the other side is owed the hand-over). Once; audited."""
    now = now or timezone.now()
    reason = _clean_words(reason, field="reason", limit=NOTE_MAX_LENGTH, required=True)
    with transaction.atomic():
        made = SwapBan.objects.filter(campaign=campaign, member=member).first()
        if made is not None:
            return made
        made = SwapBan.objects.create(campaign=campaign, member=member, by=by, reason=reason, at=now)
        for listing in SwapListing.objects.select_for_update().filter(
            campaign=campaign, owner=member, state=ListingState.LISTED
        ):
            _move_listing(listing, ListingState.REMOVED, role=OPERATOR, by=by, now=now, note=reason)
            _close_open_offers(listing, by=by, now=now, note=reason)
        for swap in Swap.objects.select_for_update().filter(campaign=campaign, offerer=member, state=SwapState.OFFERED):
            _move_swap(swap, SwapState.WITHDRAWN, role=OPERATOR, by=by, now=now, note=reason)
        audit.record(
            shop=campaign.shop_id,
            by=by,
            action="campaign.swap.ban",
            target=made,
            after={"member": member.public_name, "reason": reason},
            label=f"{member.public_name} @ {campaign.name}",
        )
    return made


def handle_report(*, report: SwapReport, by, dismiss: bool, now: datetime | None = None) -> SwapReport:
    """Mark a report handled (after hiding, warning or removing) or dismissed; audited, once."""
    now = now or timezone.now()
    state = ReportState.DISMISSED if dismiss else ReportState.HANDLED
    with transaction.atomic():
        changed = SwapReport.objects.filter(pk=report.pk, state=ReportState.OPEN).update(
            state=state, handled_at=now, handled_by=by
        )
        report.refresh_from_db()
        if changed:
            audit.record(
                shop=report.campaign.shop_id,
                by=by,
                action="campaign.swap.report",
                target=report,
                before={"state": ReportState.OPEN},
                after={"state": state},
                label=report.reason[:60],
            )
    return report


def warn_member(*, report: SwapReport, by, rule: str):
    """Warn the reported member under the group's 群规 (groups.enforcement: the power, the count, removal at the
    shop's count and the audit entry are its own)."""
    from groups import enforcement

    membership = Membership.objects.filter(group=report.group, user_id=report.member_id).first()
    if membership is None:
        raise ValidationError(_("该成员已不在群中。"))
    return enforcement.warn(membership=membership, by=by, rule=rule)


# --- Figures ---------------------------------------------------------------------------------------------


def swap_figures(campaign: Campaign) -> dict:
    """Live figures of one swap campaign: three queries whatever its size."""
    listings = SwapListing.objects.filter(campaign=campaign).aggregate(
        listed=Count("pk", filter=Q(state=ListingState.LISTED, hidden_at__isnull=True)),
        total=Count("pk"),
        members=Count("owner", distinct=True),
        hidden=Count("pk", filter=Q(hidden_at__isnull=False)),
    )
    swaps = Swap.objects.filter(campaign=campaign).aggregate(
        offers=Count("pk", filter=Q(state=SwapState.OFFERED)),
        agreed=Count("pk", filter=Q(state__in=[SwapState.AGREED, SwapState.HANDED_ONE])),
        done=Count("pk", filter=Q(state=SwapState.DONE)),
        disputed=Count("pk", filter=Q(state=SwapState.DISPUTED)),
    )
    reports = SwapReport.objects.filter(campaign=campaign, state=ReportState.OPEN).count()
    return {
        "listed": listings["listed"],
        "members": listings["members"],
        "offers": swaps["offers"],
        "agreed": swaps["agreed"],
        "done": swaps["done"],
        "disputed": swaps["disputed"],
        "reports": reports,
        "hidden": listings["hidden"],
    }


def dashboard_lists(campaign: Campaign) -> dict:
    """The operator's lists on the campaign page: the latest listings, open reports, disputed swaps and
    members removed; a constant number of queries."""
    listings = (
        SwapListing.objects.filter(campaign=campaign)
        .select_related("owner", "group", "hidden_by")
        .annotate(reported=Exists(SwapReport.objects.filter(listing=OuterRef("pk"), state=ReportState.OPEN)))
        .order_by("-created_at", "-pk")[:50]
    )
    reports = (
        SwapReport.objects.filter(campaign=campaign, state=ReportState.OPEN)
        .select_related("member", "reporter", "listing", "group")
        .order_by("created_at", "pk")[:50]
    )
    disputed = (
        Swap.objects.filter(campaign=campaign, state=SwapState.DISPUTED)
        .select_related("listing", "owner", "offerer", "offered_listing")
        .order_by("created_at", "pk")[:50]
    )
    bans = SwapBan.objects.filter(campaign=campaign).select_related("member", "by").order_by("-at")[:50]
    return {
        "swap_listings": list(listings),
        "swap_reports": list(reports),
        "swap_disputed": list(disputed),
        "swap_bans": list(bans),
    }


# --- The plug-in -----------------------------------------------------------------------------------------


class SwapKind(CampaignKind):
    code = CampaignType.SWAP
    label = gettext_lazy("换物")
    summary = gettext_lazy("群成员发布闲置物品，互相出价交换或转让，双方确认交接。")
    essential_settings = ("listing_days", "offer_hours")
    sells = False
    figure_labels = {
        "listed": gettext_lazy("可交换物品"),
        "members": gettext_lazy("发布人数"),
        "offers": gettext_lazy("待回应出价"),
        "agreed": gettext_lazy("进行中的交换"),
        "done": gettext_lazy("已完成交换"),
        "disputed": gettext_lazy("有争议"),
        "reports": gettext_lazy("待处理举报"),
        "hidden": gettext_lazy("已隐藏"),
    }

    @property
    def settings_form(self):
        from .forms import SwapSettingsForm

        return SwapSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:  # noqa: ARG002 - the interface
        return clean_swap_settings(settings=settings)

    def expire_due(self, *, now) -> int:
        return expire_offers(now=now) + expire_listings(now=now)

    def on_end(self, campaign) -> None:
        """The market closes: listed items and open offers expire (agreed swaps still finish)."""
        now = timezone.now()
        for listing in SwapListing.objects.select_for_update().filter(campaign=campaign, state=ListingState.LISTED):
            _move_listing(listing, ListingState.EXPIRED, role=SYSTEM, by=None, now=now, note=_("活动已结束"))
        for swap in Swap.objects.select_for_update().filter(campaign=campaign, state=SwapState.OFFERED):
            _move_swap(swap, SwapState.EXPIRED, role=SYSTEM, by=None, now=now, note=_("活动已结束"))

    def figures(self, campaign) -> dict:
        return swap_figures(campaign)

    def landing_context(self, campaign, user) -> dict:  # noqa: ARG002 - the interface
        return {"swap_rules": Rules.of(campaign)}

    def dashboard_context(self, campaign, request) -> dict:  # noqa: ARG002 - the interface
        return dashboard_lists(campaign)

    def poster_offer(self, campaign, target) -> str:  # noqa: ARG002 - the interface
        return _("闲置好物，群友互换")


registry.register(SwapKind())
