"""换物 under real concurrent transactions: offers on one item accepted at the same moment make one agreed swap,
and a double tap on 确认交接 records one move; each with a control that shows the race is real without the
guard (and, for the agreement, that the partial unique index alone still stops it, and without it both agree)."""

import pytest
from django.db import connection

from campaigns.models import Swap, SwapListing, SwapMove
from campaigns.types.swap import kind as swapping
from campaigns.types.swap.kind import SwapRefused
from campaigns.types.swap.models import ListingState, SwapState
from tests.campaigns.swap_support import a_group, listing, members_of, offer, swap_campaign
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 6


def _item_with_offers(n):
    shop = ShopFactory()
    group = a_group(shop)
    campaign = swap_campaign(shop)
    owner, *others = members_of(group, n + 1)
    item = listing(campaign, owner, group)
    return owner, item, [offer(item, member, price=str(10 + i)) for i, member in enumerate(others)]


def _agreed(item):
    return Swap.objects.filter(listing=item, state=SwapState.AGREED)


def test_offers_accepted_at_the_same_moment_make_one_agreed_swap():
    owner, item, offers = _item_with_offers(RACERS)

    results = race(RACERS, lambda i: swapping.agree(swap=offers[i], member=owner))

    agreed = [r for r in results if isinstance(r, Swap)]
    refused = [r for r in results if isinstance(r, SwapRefused)]
    assert len(agreed) == 1 and len(refused) == RACERS - 1, results
    assert _agreed(item).count() == 1
    assert Swap.objects.filter(listing=item, state=SwapState.DECLINED).count() == RACERS - 1
    item.refresh_from_db()
    assert item.state == ListingState.AGREED
    assert SwapMove.objects.filter(listing=item, of_swap=False, to_state=ListingState.AGREED).count() == 1


def _no_item_lock(gate):
    """The guard taken away: the items read without a lock, every racer reading before anyone writes."""

    def read_only(swap):
        ids = sorted(pk for pk in (swap.listing_id, swap.offered_listing_id) if pk)
        items = list(SwapListing.objects.filter(pk__in=ids).order_by("pk"))
        gate.wait()
        return items

    return read_only


def test_control_without_the_lock_every_agreement_passes_the_check_and_only_the_index_stops_them(monkeypatch):
    owner, item, offers = _item_with_offers(RACERS)
    gate = Gate(RACERS)
    passed = []
    hold = swapping._hold_items

    def watched_hold(swap, items, **kwargs):
        passed.append(all(i.state == ListingState.LISTED for i in items))
        return hold(swap, items, **kwargs)

    monkeypatch.setattr(swapping, "_lock_items", _no_item_lock(gate))
    monkeypatch.setattr(swapping, "_hold_items", watched_hold)
    monkeypatch.setattr(swapping, "_close_open_offers", lambda *args, **kwargs: 0)

    results = race(RACERS, lambda i: swapping.agree(swap=offers[i], member=owner))

    # Every racer saw the item listed: the check alone would have agreed six swaps of one item.
    assert passed == [True] * RACERS
    assert sum(isinstance(r, Swap) for r in results) == 1, results
    assert all(r.reason == "item_taken" for r in results if isinstance(r, SwapRefused))
    assert _agreed(item).count() == 1


@pytest.fixture
def without_the_item_index():
    """Drop the partial unique index of agreed swaps for one test, and put it back."""
    constraint = next(c for c in Swap._meta.constraints if c.name == "swap_item_in_one_agreed_swap")
    with connection.schema_editor() as editor:
        editor.remove_constraint(Swap, constraint)
    yield
    Swap.objects.filter(state=SwapState.AGREED).update(state=SwapState.CANCELLED)
    with connection.schema_editor() as editor:
        editor.add_constraint(Swap, constraint)


def test_control_without_the_lock_and_the_index_one_item_is_agreed_twice(monkeypatch, without_the_item_index):
    owner, item, offers = _item_with_offers(2)
    monkeypatch.setattr(swapping, "_lock_items", _no_item_lock(Gate(2)))
    monkeypatch.setattr(swapping, "_close_open_offers", lambda *args, **kwargs: 0)

    results = race(2, lambda i: swapping.agree(swap=offers[i], member=owner))

    assert all(isinstance(r, Swap) for r in results), results
    assert _agreed(item).count() == 2  # the double agreement the guards exist for


def _agreed_swap():
    owner, item, offers = _item_with_offers(1)
    swap = offers[0]
    swapping.agree(swap=swap, member=owner)
    return owner, swap


def test_a_double_confirm_records_one_move():
    owner, swap = _agreed_swap()

    results = race(RACERS, lambda i: swapping.confirm_handover(swap=swap, member=owner))

    assert sum(isinstance(r, Swap) for r in results) == 1, results
    assert all(r.reason == "already_confirmed" for r in results if isinstance(r, SwapRefused))
    swap.refresh_from_db()
    assert swap.state == SwapState.HANDED_ONE and swap.owner_handed_at and not swap.offerer_handed_at
    assert SwapMove.objects.filter(swap=swap, of_swap=True, to_state=SwapState.HANDED_ONE).count() == 1


def test_both_sides_confirming_at_once_end_done_with_one_move_each():
    owner, swap = _agreed_swap()
    people = [owner, swap.offerer]

    results = race(2, lambda i: swapping.confirm_handover(swap=swap, member=people[i]))

    assert all(isinstance(r, Swap) for r in results), results
    swap.refresh_from_db()
    assert swap.state == SwapState.DONE
    moves = list(SwapMove.objects.filter(swap=swap, of_swap=True).order_by("pk").values_list("to_state", flat=True))
    assert moves == ["offered", "agreed", "handed_one", "done"]


def test_control_without_the_lock_every_tap_passes_the_check_and_only_the_unique_move_stops_them(monkeypatch):
    owner, swap = _agreed_swap()
    gate = Gate(RACERS)
    passed = []

    def no_lock(swap):  # the guard taken away: the swap read without a lock
        found = Swap.objects.select_related("campaign").get(pk=swap.pk)
        passed.append(found.owner_handed_at is None)
        gate.wait()  # everyone has read before anyone writes
        return found

    monkeypatch.setattr(swapping, "_locked_swap", no_lock)
    results = race(RACERS, lambda i: swapping.confirm_handover(swap=swap, member=owner))

    # Every tap saw the side unconfirmed: without the lock each would have recorded a move.
    assert passed == [True] * RACERS
    assert sum(isinstance(r, Swap) for r in results) == 1, results
    assert all(r.reason == "already_confirmed" for r in results if isinstance(r, SwapRefused))
    assert SwapMove.objects.filter(swap=swap, of_swap=True, to_state=SwapState.HANDED_ONE).count() == 1
