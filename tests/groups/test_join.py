"""Joining through invite links: every way in, every refusal, and nothing half-made when refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from groups.lifecycle import transition_group
from groups.models import Channel, GroupState, InviteLink, MemberRole, Membership, MembershipStatus, Threshold
from groups.services import (
    JoinRefused,
    approve,
    ban,
    join_via_link,
    leave,
    reject,
    remove,
    revoke_link,
    unban,
)
from referrals.models import ReferralEdge
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db
ST = MembershipStatus


def refused(reason, **kwargs):
    with pytest.raises(JoinRefused) as info:
        join_via_link(**kwargs)
    assert info.value.reason == reason
    assert info.value.message  # a sentence for the person, not a code
    return info.value


def test_open_group_join_takes_a_seat_and_counts_the_link(group, member):
    link = InviteLinkFactory(group=group, channel=Channel.POSTER)
    m = join_via_link(user=member, code=link.code)
    assert (m.status, m.role, m.channel, m.inviter, m.invite_link) == (
        ST.ACTIVE,
        MemberRole.MEMBER,
        Channel.POSTER,
        link.inviter,
        link,
    )
    assert m.joined_at and m.first_joined_at == m.joined_at
    group.refresh_from_db()
    link.refresh_from_db()
    assert group.active_member_count == 1
    assert (link.use_count, link.join_count) == (1, 1)


def test_second_click_returns_the_same_membership_and_uses_nothing(group, member):
    link = InviteLinkFactory(group=group, max_uses=3)
    first = join_via_link(user=member, code=link.code)
    again = join_via_link(user=member, code=link.code)
    assert again.pk == first.pk
    link.refresh_from_db()
    group.refresh_from_db()
    assert link.use_count == 1 and group.active_member_count == 1


def test_unknown_code_is_invalid(member):
    refused("invalid", user=member, code="no-such-code")


def test_revoked_link_refused(group, member):
    link = revoke_link(link=InviteLinkFactory(group=group), by=shop_owner(group.shop))
    refused("revoked", user=member, code=link.code)
    assert not Membership.objects.exists()


def test_expired_link_refused(group, member):
    link = InviteLinkFactory(group=group, expires_at=timezone.now() - timedelta(minutes=1))
    refused("expired", user=member, code=link.code)


def test_exhausted_link_refused(group):
    link = InviteLinkFactory(group=group, max_uses=1)
    join_via_link(user=UserFactory(), code=link.code)
    refused("exhausted", user=UserFactory(), code=link.code)
    link.refresh_from_db()
    assert link.use_count == 1


def test_full_group_refused_and_leaves_nothing(member):
    group = GroupFactory(capacity=2)
    link = InviteLinkFactory(group=group)
    for _ in range(2):
        join_via_link(user=UserFactory(), code=link.code)
    refused("full", user=member, code=link.code)
    link.refresh_from_db()
    assert link.use_count == 2  # the refused attempt's use was rolled back
    assert not Membership.objects.filter(user=member).exists()


@pytest.mark.parametrize("state,reason", [(GroupState.PREPARING, "not_open"), (GroupState.ARCHIVED, "archived")])
def test_closed_group_refused(state, reason, member):
    group = GroupFactory(state=state)
    refused(reason, user=member, code=InviteLinkFactory(group=group).code)


def test_archiving_stops_joins(group, member, operator):
    link = InviteLinkFactory(group=group)
    transition_group(group=group, to_state=GroupState.ARCHIVED, by=operator, reason="活动结束")
    refused("archived", user=member, code=link.code)


def test_banned_user_cannot_rejoin_through_any_link(group, member, operator):
    m = join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    ban(membership=m, by=operator, reason="发广告")
    refused("banned", user=member, code=InviteLinkFactory(group=group).code)
    group.refresh_from_db()
    assert group.active_member_count == 0
    unban(membership=m, by=operator)
    assert join_via_link(user=member, code=InviteLinkFactory(group=group).code).status == ST.ACTIVE


def test_removed_or_left_member_may_rejoin_without_a_second_referral_edge(group, member, operator):
    m = join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    leave(membership=m)
    again = join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    assert again.pk == m.pk and again.status == ST.ACTIVE
    assert again.first_joined_at == m.first_joined_at
    remove(membership=again, by=operator)
    join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    assert ReferralEdge.objects.filter(invitee=member).count() == 1
    group.refresh_from_db()
    assert group.active_member_count == 1


def test_approval_group_holds_request_pending_without_a_seat(member, operator):
    group = GroupFactory(threshold=Threshold.APPROVAL, capacity=2)
    link = InviteLinkFactory(group=group)
    m = join_via_link(user=member, code=link.code, answer="我是老客户")
    assert m.status == ST.PENDING and m.answer == "我是老客户" and m.joined_at is None
    group.refresh_from_db()
    assert group.active_member_count == 0
    assert not ReferralEdge.objects.exists()  # the edge comes with admission, not with the request

    approve(membership=m, by=operator)
    m.refresh_from_db()
    group.refresh_from_db()
    assert m.status == ST.ACTIVE and m.decided_by == operator and group.active_member_count == 1
    assert ReferralEdge.objects.get(invitee=member).inviter == link.inviter


def test_approval_refused_when_group_filled_meanwhile(operator):
    group = GroupFactory(threshold=Threshold.APPROVAL, capacity=2)
    link = InviteLinkFactory(group=group)
    pending = [join_via_link(user=UserFactory(), code=link.code) for _ in range(3)]
    approve(membership=pending[0], by=operator)
    approve(membership=pending[1], by=operator)
    with pytest.raises(Exception, match="群已满"):
        approve(membership=pending[2], by=operator)
    pending[2].refresh_from_db()
    assert pending[2].status == ST.PENDING


def test_reject_gives_the_link_use_back(member, operator):
    group = GroupFactory(threshold=Threshold.APPROVAL)
    link = InviteLinkFactory(group=group, max_uses=1)
    m = join_via_link(user=member, code=link.code)
    reject(membership=m, by=operator, reason="资料不全")
    link.refresh_from_db()
    assert link.use_count == 0
    m.refresh_from_db()
    assert m.status == ST.REJECTED and m.note == "资料不全"
    with pytest.raises(Exception, match="已处理"):
        approve(membership=m, by=operator)


def test_submission_group_requires_an_answer(member):
    group = GroupFactory(threshold=Threshold.SUBMISSION, entry_question="发一张你做的菜")
    link = InviteLinkFactory(group=group)
    refused("answer_required", user=member, code=link.code, answer="   ")
    link.refresh_from_db()
    assert link.use_count == 0
    assert join_via_link(user=member, code=link.code, answer="红烧肉，照片见附件").status == ST.PENDING


def test_paid_group_is_entered_by_paying_not_by_joining(member):
    """The seat comes with the entry fee's payment (orders.entry, tests/payments/test_paid_entry.py)."""
    group = GroupFactory(threshold=Threshold.PAID, entry_price=Decimal("9.90"))
    link = InviteLinkFactory(group=group)
    refused("payment_required", user=member, code=link.code)
    link.refresh_from_db()
    assert link.use_count == 0


def test_self_invite_creates_no_edge(group, member):
    own = InviteLinkFactory(group=group, inviter=member)
    join_via_link(user=member, code=own.code)
    assert not ReferralEdge.objects.exists()


def test_first_inviter_wins_per_shop(shop, member):
    g1, g2 = GroupFactory(shop=shop), GroupFactory(shop=shop)
    first, second = InviteLinkFactory(group=g1), InviteLinkFactory(group=g2)
    join_via_link(user=member, code=first.code)
    join_via_link(user=member, code=second.code)
    edge = ReferralEdge.objects.get(invitee=member)
    assert (edge.inviter, edge.link, edge.group, edge.shop) == (first.inviter, first, g1, shop)


def test_member_of_one_shop_is_new_to_another(member):
    a, b = GroupFactory(), GroupFactory()
    join_via_link(user=member, code=InviteLinkFactory(group=a).code)
    join_via_link(user=member, code=InviteLinkFactory(group=b).code)
    assert ReferralEdge.objects.filter(invitee=member).count() == 2


def test_owner_cannot_leave_before_handing_over(group, member):
    from groups.services import add_member

    m = add_member(group=group, user=member, by=None, role=MemberRole.OWNER)
    group.refresh_from_db()
    assert group.owner == member
    with pytest.raises(Exception, match="群主"):
        leave(membership=m)


def test_link_codes_are_long_and_random(group):
    codes = {InviteLinkFactory(group=group).code for _ in range(50)}
    assert len(codes) == 50
    assert all(len(code) >= 16 for code in codes)  # 96 bits: token_urlsafe(12)
    assert InviteLink._meta.get_field("code").unique
