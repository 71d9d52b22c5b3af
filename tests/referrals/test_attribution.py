"""Attribution: who brought whom, by the shop's (or the campaign's) binding rule, every act counted once,
no loops, nobody referring themself."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from groups.models import Channel
from groups.services import join_via_link, record_link_open
from referrals import services
from referrals.models import BindingRule, EventKind, ReferralEdge, ReferralEvent, SelfReferralAttempt
from referrals.selectors import current_edge, live_events
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


def _rule(shop, rule, window=7):
    services.update_referral_settings(shop=shop, by=shop_owner(shop), binding_rule=rule, binding_window_days=window)


def _edges(shop, invitee):
    return list(ReferralEdge.objects.filter(shop=shop, invitee=invitee).order_by("created_at", "pk"))


# --- Opens and joins are events, each once -------------------------------------------------------


def test_link_open_is_recorded_without_sign_in(link):
    record_link_open(link)
    event = ReferralEvent.objects.get(kind=EventKind.LINK_OPENED)
    assert event.invitee is None and event.inviter == link.inviter and event.link == link
    assert event.group == link.group and event.channel == link.channel
    link.refresh_from_db()
    assert link.open_count == 1


def test_the_same_visitor_opening_twice_a_day_counts_once(link):
    record_link_open(link, visitor_key="session-abc")
    record_link_open(link, visitor_key="session-abc")  # a retried request
    record_link_open(link, visitor_key="session-xyz")
    assert ReferralEvent.objects.filter(kind=EventKind.LINK_OPENED).count() == 2


def test_inviter_opening_their_own_link_is_not_an_invite(link):
    record_link_open(link, user=link.inviter)
    assert not ReferralEvent.objects.exists()


def test_landing_page_and_api_record_opens_for_anonymous_visitors(client, link):
    client.get(link.get_absolute_url())
    client.get(f"/api/v1/links/{link.code}/")
    assert ReferralEvent.objects.filter(kind=EventKind.LINK_OPENED, link=link, invitee=None).count() == 2


def test_join_binds_the_invitee_and_records_the_join_once(shop, link, ref_group):
    invitee = joins(link)
    edge = current_edge(shop.pk, invitee.pk)
    assert (edge.inviter, edge.link, edge.group, edge.channel) == (link.inviter, link, ref_group, Channel.MEMBER)
    event = ReferralEvent.objects.get(kind=EventKind.JOINED)
    assert (event.key, event.inviter, event.invitee, event.edge) == (
        f"joined:{shop.pk}:{invitee.pk}",
        link.inviter,
        invitee,
        edge,
    )
    join_via_link(user=invitee, code=link.code)  # a second click
    assert ReferralEvent.objects.filter(kind=EventKind.JOINED).count() == 1


def test_channel_comes_with_the_link_that_carried_it(shop, ref_group):
    partner = UserFactory()  # a member with a channel link of their own (a partner), not the shop's staff
    poster = InviteLinkFactory(group=ref_group, inviter=partner, channel=Channel.PARCEL_CARD)
    invitee = joins(poster)
    assert current_edge(shop.pk, invitee.pk).channel == Channel.PARCEL_CARD
    assert ReferralEvent.objects.get(kind=EventKind.JOINED).channel == Channel.PARCEL_CARD


def test_series_join_records_the_series(shop, operator):
    from groups.services import add_member, create_series, personal_link

    series = create_series(shop=shop, name="辅食交流", by=operator)
    member = UserFactory()
    add_member(group=series.groups.get(), user=member, by=operator)
    invitee = UserFactory()
    join_via_link(user=invitee, code=personal_link(user=member, series=series).code)
    event = ReferralEvent.objects.get(kind=EventKind.JOINED)
    assert event.series == series and event.group.series == series


# --- Binding rules ---------------------------------------------------------------------------------


def test_first_bind_wins_by_default(shop, link):
    invitee = joins(link)
    later = InviteLinkFactory(group=GroupFactory(shop=shop))
    joins(later, invitee)
    assert [e.inviter for e in _edges(shop, invitee)] == [link.inviter]


def test_an_existing_customer_is_not_bound_by_a_later_link(shop, ref_group, operator):
    from groups.services import add_member

    customer = UserFactory()
    add_member(group=ref_group, user=customer, by=operator)  # already in the shop, nobody brought them
    joins(InviteLinkFactory(group=GroupFactory(shop=shop)), customer)
    assert not ReferralEdge.objects.filter(invitee=customer).exists()


def test_sign_up_only_refuses_a_customer_of_another_shop(shop, link):
    _rule(shop, BindingRule.SIGN_UP_ONLY)
    elsewhere = joins(InviteLinkFactory())  # their sign-up was in another shop
    joins(link, elsewhere)
    assert not ReferralEdge.objects.filter(shop=shop, invitee=elsewhere).exists()
    newcomer = joins(link)
    assert current_edge(shop.pk, newcomer.pk).inviter == link.inviter


def test_first_bind_accepts_a_customer_of_another_shop(shop, link):
    elsewhere = joins(InviteLinkFactory())
    joins(link, elsewhere)
    assert current_edge(shop.pk, elsewhere.pk).inviter == link.inviter


def test_latest_link_within_window_moves_the_invitee_and_keeps_the_original_on_record(shop, link):
    _rule(shop, BindingRule.LATEST_WITHIN_WINDOW, window=7)
    invitee = joins(link)
    second = InviteLinkFactory(group=GroupFactory(shop=shop))
    joins(second, invitee)
    old, new = _edges(shop, invitee)
    assert old.inviter == link.inviter and old.superseded_at is not None and old.superseded_by == new
    assert new.inviter == second.inviter and new.superseded_at is None
    assert current_edge(shop.pk, invitee.pk) == new
    # The original inviter keeps the join they earned; the join is not counted a second time.
    assert list(ReferralEvent.objects.filter(kind=EventKind.JOINED).values_list("inviter", flat=True)) == [
        link.inviter.pk
    ]


def test_latest_link_after_the_window_changes_nothing(shop, link):
    _rule(shop, BindingRule.LATEST_WITHIN_WINDOW, window=7)
    invitee = joins(link)
    ReferralEdge.objects.filter(invitee=invitee).update(created_at=timezone.now() - timedelta(days=8))
    joins(InviteLinkFactory(group=GroupFactory(shop=shop)), invitee)
    assert [e.inviter for e in _edges(shop, invitee)] == [link.inviter]


def test_a_qualified_referral_is_never_moved(shop, link):
    _rule(shop, BindingRule.LATEST_WITHIN_WINDOW)
    invitee = joins(link)
    ReferralEdge.objects.filter(invitee=invitee).update(qualified_at=timezone.now())
    joins(InviteLinkFactory(group=GroupFactory(shop=shop)), invitee)
    assert len(_edges(shop, invitee)) == 1


def test_campaign_rule_overrides_the_shop_rule(shop, link):
    services.set_campaign_binding_rule(
        shop=shop, by=shop_owner(shop), campaign_id=42, binding_rule=BindingRule.LATEST_WITHIN_WINDOW
    )
    invitee = joins(link)
    other = UserFactory()
    assert (
        services.record_join(shop_id=shop.pk, invitee=invitee, inviter=other, channel="poster", new_to_shop=False)
        is None
    )  # the shop's rule: first bind wins
    moved = services.record_join(
        shop_id=shop.pk, invitee=invitee, inviter=other, channel="poster", new_to_shop=False, campaign_id=42
    )
    assert moved is not None and moved.campaign_id == 42 and current_edge(shop.pk, invitee.pk).inviter == other


def test_one_current_edge_per_invitee_is_enforced_by_the_database(shop, link):
    invitee = joins(link)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralEdge.objects.create(shop=shop, invitee=invitee, inviter=UserFactory(), channel="member")


# --- Loops and self-referral -------------------------------------------------------------------------


def test_a_loop_up_the_whole_chain_is_refused(shop):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    bind = lambda inviter, invitee: services.record_join(  # noqa: E731
        shop_id=shop.pk, invitee=invitee, inviter=inviter, channel="member", new_to_shop=True
    )
    assert bind(a, b) and bind(b, c)
    assert bind(c, a) is None  # A → B → C → A
    assert not ReferralEdge.objects.filter(invitee=a).exists()
    d = UserFactory()
    assert bind(c, d)  # not a loop: a new branch


def test_a_loop_through_links_is_refused(shop, ref_group):
    a = UserFactory()
    b = joins(InviteLinkFactory(group=ref_group, inviter=a))
    c = joins(InviteLinkFactory(group=ref_group, inviter=b))
    joins(InviteLinkFactory(group=GroupFactory(shop=shop), inviter=c), a)
    assert not ReferralEdge.objects.filter(invitee=a).exists()


def test_a_loop_in_another_shop_does_not_count(shop):
    a, b = UserFactory(), UserFactory()
    other = GroupFactory()
    services.record_join(shop_id=other.shop_id, invitee=b, inviter=a, channel="member", new_to_shop=True)
    assert services.record_join(shop_id=shop.pk, invitee=a, inviter=b, channel="member", new_to_shop=True)


def test_self_referral_is_refused_on_every_path(shop, ref_group, link):
    me = UserFactory()
    assert services.record_join(shop_id=shop.pk, invitee=me, inviter=me, channel="member", new_to_shop=True) is None
    join_via_link(user=me, code=InviteLinkFactory(group=ref_group, inviter=me).code)
    assert services.record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=me, invitee=me, key="help") is None
    assert not ReferralEdge.objects.filter(invitee=me).exists()
    assert not ReferralEvent.objects.filter(invitee=me).exists()
    # The refused self-joins are kept for the fraud review.
    assert list(SelfReferralAttempt.objects.filter(user=me).values_list("action", flat=True)) == ["join", "join"]


def test_the_database_refuses_self_referral_edges_and_events(shop):
    me = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralEdge.objects.create(shop=shop, invitee=me, inviter=me, channel="member")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralEvent.objects.create(shop=shop, kind=EventKind.CAMPAIGN_ACT, key="x", inviter=me, invitee=me)


# --- Campaign acts ------------------------------------------------------------------------------------


def test_campaign_act_counts_once_per_key(shop, inviter):
    friend = UserFactory()
    first = services.record_campaign_act(
        shop_id=shop.pk, campaign_id=7, inviter=inviter, invitee=friend, key=f"help:{friend.pk}"
    )
    again = services.record_campaign_act(
        shop_id=shop.pk, campaign_id=7, inviter=inviter, invitee=friend, key=f"help:{friend.pk}"
    )
    assert first is not None and again is None
    assert list(live_events(shop=shop, kinds=EventKind.CAMPAIGN_ACT, campaign_id=7)) == [first]
