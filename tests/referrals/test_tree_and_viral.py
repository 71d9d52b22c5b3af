"""Each member's referral tree (who they brought, whom those brought) and the viral coefficient per group,
series and campaign, counted from live events only."""

from decimal import Decimal

import pytest

from groups.services import create_series, join_via_link, record_link_open
from referrals import services
from referrals.models import BindingRule, EventKind, ReferralEvent
from referrals.selectors import live_events, referral_tree, viral_stats, viral_table
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


def names(nodes):
    return sorted(n.person.display_name for n in nodes)


def test_tree_shows_two_levels_and_moved_away_invitees(shop, ref_group):
    root = UserFactory(display_name="甲")
    b = joins(InviteLinkFactory(group=ref_group, inviter=root), UserFactory(display_name="乙"))
    c = joins(InviteLinkFactory(group=ref_group, inviter=root), UserFactory(display_name="丙"))
    joins(InviteLinkFactory(group=ref_group, inviter=b), UserFactory(display_name="丁"))
    d2 = joins(InviteLinkFactory(group=ref_group, inviter=b), UserFactory(display_name="戊"))
    joins(InviteLinkFactory(group=ref_group, inviter=d2), UserFactory(display_name="己"))  # third level
    # 丙 moves to someone else under a window rule: still on 甲's record, marked moved.
    services.update_referral_settings(shop=shop, by=shop_owner(shop), binding_rule=BindingRule.LATEST_WITHIN_WINDOW)
    joins(InviteLinkFactory(group=GroupFactory(shop=shop)), c)

    tree = referral_tree(root, shop=shop, depth=2)
    assert names(tree) == ["丙", "乙"]
    by_name = {n.person.display_name: n for n in tree}
    assert by_name["丙"].edge.superseded_at is not None and by_name["丙"].children == []
    assert names(by_name["乙"].children) == ["丁", "戊"]
    assert all(child.children == [] for child in by_name["乙"].children)  # depth 2 stops there
    deeper = referral_tree(root, shop=shop, depth=3)
    assert names([g for n in deeper for c in n.children for g in c.children]) == ["己"]


def test_tree_is_per_shop(shop, ref_group):
    root = UserFactory()
    joins(InviteLinkFactory(group=ref_group, inviter=root))
    joins(InviteLinkFactory(group=GroupFactory(), inviter=root))
    assert len(referral_tree(root, shop=shop)) == 1
    assert len(referral_tree(root)) == 2


def test_viral_coefficient_per_group(shop, ref_group):
    other_group = GroupFactory(shop=shop)
    seed = UserFactory()
    link = InviteLinkFactory(group=ref_group, inviter=seed)
    for _ in range(3):
        record_link_open(link)
    first_gen = [joins(link) for _ in range(2)]
    # The first generation brings three people, into another group: they still count for ref_group's K.
    for person in first_gen + first_gen[:1]:
        joins(InviteLinkFactory(group=other_group, inviter=person))
    row = viral_stats(shop, group_id=ref_group.pk)
    assert (row.invites, row.joins, row.second_gen, row.coefficient, row.conversion) == (
        3,
        2,
        3,
        Decimal("1.50"),
        Decimal("66.7"),
    )
    other = viral_stats(shop, group_id=other_group.pk)
    assert (other.joins, other.second_gen, other.coefficient) == (3, 0, Decimal("0.00"))
    whole = viral_stats(shop)
    assert (whole.invites, whole.joins, whole.second_gen) == (3, 5, 3)


def test_viral_coefficient_per_series(shop, operator):
    series = create_series(shop=shop, name="辅食交流", by=operator)
    code = series.invite_links.get().code
    first = UserFactory()
    join_via_link(user=first, code=code)  # the operator's series code: the channel's join, not a referral
    second = joins(InviteLinkFactory(group=series.groups.get(), inviter=first))
    joins(InviteLinkFactory(group=series.groups.get(), inviter=second))
    (row,) = viral_table(shop, "series")
    assert (row.key, row.label, row.joins, row.second_gen) == (series.pk, "辅食交流", 2, 1)


def test_viral_coefficient_per_campaign(shop):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    services.record_join(shop_id=shop.pk, invitee=b, inviter=a, channel="poster", new_to_shop=True, campaign_id=9)
    services.record_join(shop_id=shop.pk, invitee=c, inviter=b, channel="poster", new_to_shop=True)
    (row,) = viral_table(shop, "campaign")
    assert (row.key, row.joins, row.second_gen, row.coefficient) == (9, 1, 1, Decimal("1.00"))


def test_voided_joins_leave_the_viral_funnel(shop, link):
    first = joins(link)
    joins(InviteLinkFactory(group=link.group, inviter=first))
    services.void_events(ReferralEvent.objects.filter(kind=EventKind.JOINED, invitee=first), reason="刷量")
    row = viral_stats(shop, group_id=link.group_id)
    assert (row.joins, row.second_gen) == (1, 0)  # the voided join is gone; its invitee's join is first-gen now
    assert live_events(shop=shop, kinds=EventKind.JOINED).count() == 1


def test_live_events_are_oldest_first_and_never_voided(shop, link):
    people = [joins(link) for _ in range(3)]
    services.void_events(ReferralEvent.objects.filter(invitee=people[1]), reason="x")
    assert [e.invitee for e in live_events(shop=shop)] == [people[0], people[2]]
