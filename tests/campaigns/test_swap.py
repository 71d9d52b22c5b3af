"""换物 rules: listing, offers, the state machine and its recorded moves, one agreed swap per item, both sides'
hand-over, expiry, reports and moderation (hide, 群规 warning, removal from swaps) with their audit entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import Swap, SwapBan, SwapListing, SwapMove, SwapReport
from campaigns.types.swap import kind as swapping
from campaigns.types.swap.kind import SWAP_MOVES, SwapRefused
from campaigns.types.swap.models import ListingState, SwapState
from groups.models import MemberRole, Membership, MemberWarning
from notifications.models import Notification
from shops.models import AuditEntry
from tests.campaigns.swap_support import a_group, listing, members_of, offer, png, swap_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(shop):
    group = a_group(shop)
    campaign = swap_campaign(shop)
    alice, bob, carol = members_of(group, 3)
    return campaign, group, alice, bob, carol


def _moves(swap):
    return list(SwapMove.objects.filter(swap=swap, of_swap=True).order_by("pk").values_list("from_state", "to_state"))


# --- Listing ---------------------------------------------------------------------------------------------


def test_a_member_lists_an_item_with_photos_in_their_group(market):
    campaign, group, alice, *_ = market
    photo = SimpleUploadedFile("stroller.png", png(), content_type="image/png")

    item = listing(campaign, alice, group, price="120", photos=[photo], handover="shipping")

    assert item.state == ListingState.LISTED and item.price == Decimal("120.00")
    assert item.photos.count() == 1
    stored = item.photos.get().image
    assert stored.storage.base_location.endswith("private")  # never under /media/
    assert len(item.share_token) == 32
    assert item.expires_at - item.created_at == timedelta(days=30)
    assert list(item.moves.values_list("from_state", "to_state")) == [("", "listed")]


def test_a_listing_wants_something_or_a_price(market):
    campaign, group, alice, *_ = market
    with pytest.raises(ValidationError) as refused:
        listing(campaign, alice, group, wanted="", price=None)
    assert "wanted" in refused.value.message_dict
    with pytest.raises(ValidationError):
        listing(campaign, alice, group, price="-1")
    with pytest.raises(ValidationError):
        listing(campaign, alice, group, price="1.005")


def test_only_a_member_of_a_group_of_the_campaign_lists_there(market, shop):
    campaign, group, alice, *_ = market
    elsewhere = a_group(shop)
    with pytest.raises(SwapRefused) as refused:
        listing(campaign, alice, elsewhere)
    assert refused.value.reason == "group"


def test_the_database_refuses_a_listing_without_wants_or_a_negative_price(market):
    campaign, group, alice, *_ = market
    item = listing(campaign, alice, group)
    with pytest.raises(IntegrityError), transaction.atomic():
        SwapListing.objects.filter(pk=item.pk).update(wanted="", price=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        SwapListing.objects.filter(pk=item.pk).update(price=Decimal("-1"))


# --- The state machine -------------------------------------------------------------------------------------


def test_a_swap_goes_offered_agreed_handed_done_and_every_move_is_recorded(market):
    campaign, group, alice, bob, _carol = market
    stroller = listing(campaign, alice, group)
    books = listing(campaign, bob, group, title="绘本 20 本", wanted="推车")

    swap = offer(stroller, bob, offered=books)
    swapping.agree(swap=swap, member=alice)
    stroller.refresh_from_db()
    books.refresh_from_db()
    assert (stroller.state, books.state) == (ListingState.AGREED, ListingState.AGREED)

    swapping.confirm_handover(swap=swap, member=bob)
    swap.refresh_from_db()
    assert swap.state == SwapState.HANDED_ONE and swap.offerer_handed_at and not swap.owner_handed_at

    swapping.confirm_handover(swap=swap, member=alice)
    swap.refresh_from_db()
    stroller.refresh_from_db()
    books.refresh_from_db()
    assert swap.state == SwapState.DONE and swap.closed_at
    assert (stroller.state, books.state) == (ListingState.DONE, ListingState.DONE)
    assert _moves(swap) == [("", "offered"), ("offered", "agreed"), ("agreed", "handed_one"), ("handed_one", "done")]
    by = list(SwapMove.objects.filter(swap=swap, of_swap=True).order_by("pk").values_list("by", flat=True))
    assert by == [bob.pk, alice.pk, bob.pk, alice.pk]
    # The listings' own moves name the swap that moved them.
    assert list(stroller.moves.filter(of_swap=False).order_by("pk").values_list("to_state", "swap")) == [
        ("listed", None),
        ("agreed", swap.pk),
        ("done", swap.pk),
    ]
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"swap_offer", "swap_agreed", "swap_handed"} <= kinds


def test_agreeing_declines_the_other_offers_on_the_item(market):
    campaign, group, alice, bob, carol = market
    stroller = listing(campaign, alice, group)
    first, second = offer(stroller, bob), offer(stroller, carol, price="60")

    swapping.agree(swap=second, member=alice)

    first.refresh_from_db()
    assert first.state == SwapState.DECLINED
    assert _moves(first)[-1] == ("offered", "declined")


def test_only_the_owner_agrees_and_only_the_parties_act(market):
    campaign, group, alice, bob, carol = market
    swap = offer(listing(campaign, alice, group), bob)
    with pytest.raises(SwapRefused):
        swapping.agree(swap=swap, member=bob)
    with pytest.raises(Http404):
        swapping.agree(swap=swap, member=carol)
    with pytest.raises(Http404):
        swapping.confirm_handover(swap=swap, member=carol)
    with pytest.raises(Http404):
        swapping.swap_for_party(carol, swap.pk)


def test_a_move_the_table_does_not_have_is_refused(market):
    campaign, group, alice, bob, _carol = market
    swap = offer(listing(campaign, alice, group), bob)
    with pytest.raises(SwapRefused) as refused:
        swapping.confirm_handover(swap=swap, member=bob)  # not agreed yet
    assert refused.value.reason == "not_allowed"
    swapping.decline(swap=swap, member=alice)
    with pytest.raises(SwapRefused):
        swapping.agree(swap=swap, member=alice)
    assert ("offered", "done") not in SWAP_MOVES and ("declined", "agreed") not in SWAP_MOVES


def test_calling_off_an_agreed_swap_lists_the_items_again(market):
    campaign, group, alice, bob, _carol = market
    stroller = listing(campaign, alice, group)
    swap = offer(stroller, bob)
    swapping.agree(swap=swap, member=alice)

    swapping.withdraw(swap=swap, member=bob)

    stroller.refresh_from_db()
    swap.refresh_from_db()
    assert swap.state == SwapState.WITHDRAWN and stroller.state == ListingState.LISTED


def test_after_one_hand_over_only_a_dispute_remains_and_an_operator_settles_it(market, operator):
    campaign, group, alice, bob, _carol = market
    stroller = listing(campaign, alice, group)
    swap = offer(stroller, bob)
    swapping.agree(swap=swap, member=alice)
    swapping.confirm_handover(swap=swap, member=alice)
    with pytest.raises(SwapRefused):
        swapping.withdraw(swap=swap, member=bob)

    swapping.dispute(swap=swap, member=bob, note="没收到")
    swapping.resolve_dispute(swap=swap, by=operator, done=False, note="双方协商取消")

    swap.refresh_from_db()
    stroller.refresh_from_db()
    assert swap.state == SwapState.CANCELLED and stroller.state == ListingState.LISTED
    entry = AuditEntry.objects.get(action="campaign.swap.resolve")
    assert entry.actor == operator


def test_the_offerer_cannot_offer_an_item_not_theirs_or_taken(market):
    campaign, group, alice, bob, carol = market
    stroller = listing(campaign, alice, group)
    carols = listing(campaign, carol, group, title="积木")
    with pytest.raises(SwapRefused) as refused:
        swapping.make_offer(listing=stroller, member=bob, offered_listing=carols)
    assert refused.value.reason == "offered_item"
    with pytest.raises(SwapRefused) as refused:
        swapping.make_offer(listing=stroller, member=bob)
    assert refused.value.reason == "offer_something"
    with pytest.raises(SwapRefused) as refused:
        swapping.make_offer(listing=stroller, member=alice, price="1")
    assert refused.value.reason == "own_listing"


def test_one_open_offer_per_member_and_item(market):
    campaign, group, alice, bob, _carol = market
    stroller = listing(campaign, alice, group)
    offer(stroller, bob)
    with pytest.raises(SwapRefused) as refused:
        offer(stroller, bob, price="70")
    assert refused.value.reason == "already_offered"


def test_the_database_allows_an_item_in_one_live_agreed_swap(market):
    campaign, group, alice, bob, carol = market
    stroller = listing(campaign, alice, group)
    first, second = offer(stroller, bob), offer(stroller, carol)
    swapping.agree(swap=first, member=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Swap.objects.filter(pk=second.pk).update(state=SwapState.AGREED)


def test_an_item_offered_in_an_agreed_swap_cannot_be_agreed_again(market):
    campaign, group, alice, bob, carol = market
    stroller = listing(campaign, alice, group)
    lego = listing(campaign, carol, group, title="乐高")
    books = listing(campaign, bob, group, title="绘本")
    on_stroller = offer(stroller, bob, offered=books)
    on_lego = offer(lego, bob, offered=books)

    swapping.agree(swap=on_stroller, member=alice)

    on_lego.refresh_from_db()
    assert on_lego.state == SwapState.WITHDRAWN  # the item it offered went to another swap
    with pytest.raises(SwapRefused):
        swapping.agree(swap=on_lego, member=carol)


# --- Expiry ----------------------------------------------------------------------------------------------


def test_stale_offers_and_listings_expire_once(market):
    campaign, group, alice, bob, _carol = market
    stroller = listing(campaign, alice, group)
    swap = offer(stroller, bob)
    later = timezone.now() + timedelta(hours=73)

    kind = swapping.SwapKind()
    assert kind.expire_due(now=later) == 1
    assert kind.expire_due(now=later) == 0
    swap.refresh_from_db()
    assert swap.state == SwapState.EXPIRED and _moves(swap)[-1] == ("offered", "expired")
    assert SwapMove.objects.get(swap=swap, to_state="expired").by is None

    assert kind.expire_due(now=timezone.now() + timedelta(days=31)) == 1
    stroller.refresh_from_db()
    assert stroller.state == ListingState.EXPIRED


def test_the_engine_periodic_job_runs_the_swap_expiry(market):
    campaign, group, alice, bob, _carol = market
    swap = offer(listing(campaign, alice, group), bob)
    done = campaign_services.run_due_jobs(now=timezone.now() + timedelta(hours=80))
    assert done["swap"] == 1
    swap.refresh_from_db()
    assert swap.state == SwapState.EXPIRED


def test_ending_the_campaign_closes_the_market_but_not_agreed_swaps(market, owner):
    campaign, group, alice, bob, carol = market
    agreed = offer(listing(campaign, alice, group), bob)
    swapping.agree(swap=agreed, member=alice)
    waiting = offer(listing(campaign, carol, group, title="童车"), bob)
    campaign_services.cancel_campaign(campaign=campaign, by=owner)
    waiting.refresh_from_db()
    agreed.refresh_from_db()
    assert waiting.state == SwapState.EXPIRED and agreed.state == SwapState.AGREED


# --- Seeing ----------------------------------------------------------------------------------------------


def test_only_group_members_see_listings(market, shop):
    campaign, group, alice, _bob, _carol = market
    item = listing(campaign, alice, group)
    outsider = members_of(a_group(shop), 1)[0]
    with pytest.raises(Http404):
        swapping.listing_for_member(outsider, item.pk)
    assert swapping.browse(campaign, outsider) == []
    assert [x.pk for x in swapping.browse(campaign, alice)] == [item.pk]


def test_browse_costs_a_constant_number_of_queries(market, django_assert_max_num_queries):
    campaign, group, alice, bob, _carol = market
    for n in range(8):
        listing(campaign, alice, group, title=f"物品{n}", photos=[SimpleUploadedFile("a.png", png())])
    with django_assert_max_num_queries(3):
        rows = swapping.browse(campaign, bob)
        assert [len(r.photos.all()) for r in rows] == [1] * 8
        assert {r.owner.public_name for r in rows}


# --- Reports and moderation ----------------------------------------------------------------------------


def test_a_member_reports_a_listing_once_while_open(market):
    campaign, group, alice, bob, _carol = market
    item = listing(campaign, alice, group)
    made = swapping.report(campaign=campaign, reporter=bob, listing=item, reason="广告")
    assert made.member == alice and made.group == group
    with pytest.raises(ValidationError):
        swapping.report(campaign=campaign, reporter=bob, listing=item, reason="又一次")
    with pytest.raises(ValidationError):
        swapping.report(campaign=campaign, reporter=alice, listing=item, reason="自己")


def test_a_member_reports_another_member_of_a_shared_group_only(market, shop):
    campaign, group, alice, bob, _carol = market
    swapping.report(campaign=campaign, reporter=bob, member=alice, reason="爽约")
    stranger = members_of(a_group(shop), 1)[0]
    with pytest.raises(Http404):
        swapping.report(campaign=campaign, reporter=bob, member=stranger, reason="?")
    assert SwapReport.objects.count() == 1


def test_hiding_is_audited_and_hides_from_browse(market, operator):
    campaign, group, alice, bob, _carol = market
    item = listing(campaign, alice, group)
    swapping.set_hidden(listing=item, by=operator, hidden=True)
    swapping.set_hidden(listing=item, by=operator, hidden=True)
    assert swapping.browse(campaign, bob) == []
    with pytest.raises(Http404):
        swapping.listing_for_member(bob, item.pk)
    with pytest.raises(SwapRefused):
        offer(item, bob)
    entries = AuditEntry.objects.filter(action="campaign.swap.hide")
    assert entries.count() == 1 and entries.get().actor == operator


def test_a_group_owner_hides_in_their_group_and_a_member_may_not(market, shop):
    campaign, group, alice, bob, carol = market
    Membership.objects.filter(group=group, user=carol).update(role=MemberRole.OWNER)
    item = listing(campaign, alice, group)
    with pytest.raises(PermissionDenied):
        swapping.set_hidden(listing=item, by=bob, hidden=True)
    swapping.set_hidden(listing=item, by=carol, hidden=True)
    item.refresh_from_db()
    assert item.hidden_by == carol
    assert AuditEntry.objects.get(action="campaign.swap.hide").actor == carol
    # 群主 of another group has no power here.
    other = a_group(shop)
    boss = members_of(other, 1)[0]
    Membership.objects.filter(group=other, user=boss).update(role=MemberRole.OWNER)
    with pytest.raises(PermissionDenied):
        swapping.set_hidden(listing=item, by=boss, hidden=False)


def test_a_warning_from_a_report_goes_through_the_group_rules(market, operator):
    campaign, group, alice, bob, _carol = market
    report = swapping.report(campaign=campaign, reporter=bob, member=alice, reason="发广告")
    swapping.warn_member(report=report, by=operator, rule="禁止发广告")
    warning = MemberWarning.objects.get(member_id=alice.pk)
    assert warning.rule == "禁止发广告" and warning.by == operator
    assert AuditEntry.objects.filter(action="group.member.warn", actor=operator).exists()


def test_removing_a_member_from_swaps_closes_their_items_and_offers(market, operator):
    campaign, group, alice, bob, carol = market
    item = listing(campaign, alice, group)
    on_alice = offer(item, bob)
    carols = listing(campaign, carol, group, title="积木")
    alice_offer = offer(carols, alice)

    swapping.ban(campaign=campaign, member=alice, by=operator, reason="多次被举报")
    swapping.ban(campaign=campaign, member=alice, by=operator, reason="again")

    item.refresh_from_db()
    on_alice.refresh_from_db()
    alice_offer.refresh_from_db()
    assert item.state == ListingState.REMOVED
    assert on_alice.state == SwapState.DECLINED and alice_offer.state == SwapState.WITHDRAWN
    assert SwapBan.objects.count() == 1 and AuditEntry.objects.filter(action="campaign.swap.ban").count() == 1
    with pytest.raises(SwapRefused) as refused:
        listing(campaign, alice, group)
    assert refused.value.reason == "banned"
    with pytest.raises(SwapRefused):
        offer(carols, alice, price="5")


def test_figures_count_the_market(market):
    campaign, group, alice, bob, carol = market
    item = listing(campaign, alice, group)
    swapping.agree(swap=offer(item, bob), member=alice)
    offer(listing(campaign, carol, group, title="积木"), bob)
    figures = swapping.swap_figures(campaign)
    assert figures["listed"] == 1 and figures["agreed"] == 1 and figures["offers"] == 1 and figures["members"] == 2
