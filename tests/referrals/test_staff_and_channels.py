"""Joins through the shop's own codes and channels are the channel's; the shop's staff are never credited.

A series code (群活码) or a channel link an operator made brings people for the shop: the membership
records the channel and the link counts the join, but nobody becomes the newcomer's inviter. The shop's
staff (owner, operators, viewers) never rank on member boards and never earn rewards, whatever link or
act would credit them; an ordinary member on the very same path is credited (so these tests can fail).
"""

from decimal import Decimal

import pytest

from groups.models import Channel
from groups.services import LinkOptions, add_member, create_link, create_series, join_via_link, personal_link
from referrals import leaderboards as lb
from referrals.leaderboards import Board, Metric
from referrals.models import ReferralEdge, ReferralEvent, Reward, RewardKind
from referrals.services import RewardRuleInput, record_campaign_act, save_reward_rule
from shops.models import OperatorRole
from tests.builders.referrals import joins, paid_order
from tests.factories import OperatorFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def credited(shop) -> set[int]:
    """Everyone the shop's referral records credit: edges, events, rewards and the boards."""
    boards = [Board.of(shop_id=shop.pk, metric=m) for m in (Metric.QUALIFIED, Metric.JOINS, Metric.GMV)]
    boards.append(Board.of(shop_id=shop.pk, metric=Metric.CAMPAIGN_ACTS))
    return (
        set(ReferralEdge.objects.filter(shop=shop).values_list("inviter_id", flat=True))
        | set(ReferralEvent.objects.filter(shop=shop).values_list("inviter_id", flat=True))
        | set(Reward.objects.filter(shop=shop).values_list("inviter_id", flat=True))
        | {entry.user_id for board in boards for entry in lb.top(board)}
    )


def test_a_join_through_the_series_code_is_the_channels_not_the_operators(shop, operator):
    series = create_series(shop=shop, name="辅食交流", by=operator)
    code = series.invite_links.get()  # the series' public code, made by the operator

    membership = join_via_link(user=UserFactory(), code=code.code)

    assert (membership.status, membership.channel, membership.inviter) == ("active", Channel.SERIES_CODE, None)
    code.refresh_from_db()
    assert code.join_count == 1 and code.inviter == operator  # who made the code stays on the code
    assert credited(shop) == set()


def test_a_join_through_an_operators_channel_link_is_the_channels(shop, ref_group, owner):
    poster = create_link(
        shop=shop,
        by=shop_owner(shop),
        inviter=owner,
        group=ref_group,
        options=LinkOptions(channel=Channel.POSTER, label="门店海报"),
    )

    membership = join_via_link(user=UserFactory(), code=poster.code)

    assert (membership.channel, membership.inviter) == (Channel.POSTER, None)
    assert credited(shop) == set()


@pytest.mark.parametrize("role", [OperatorRole.OWNER, OperatorRole.OPERATOR, OperatorRole.VIEWER])
def test_staff_never_rank_on_member_boards_nor_earn_rewards(shop, ref_group, sku, transport, committed, role):
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100"))
    )
    staff = OperatorFactory(shop=shop, role=role).user
    member = UserFactory()
    with committed():
        for person in (staff, member):  # both in the group, each sharing their own member link
            add_member(group=ref_group, user=person, by=None)
            invitee = joins(personal_link(user=person, group=ref_group))
            paid_order(invitee, ref_group, sku, transport)
            record_campaign_act(
                shop_id=shop.pk, campaign_id=7, inviter=person, invitee=invitee, key=f"help:{person.pk}"
            )

    assert credited(shop) == {member.pk}
    assert Reward.objects.filter(inviter=member).count() == 1


def test_a_member_who_joins_the_staff_earns_nothing_from_then_on(shop, ref_group):
    member = UserFactory()
    add_member(group=ref_group, user=member, by=None)
    link = personal_link(user=member, group=ref_group)
    before = joins(link)

    OperatorFactory(shop=shop, user=member, role=OperatorRole.OPERATOR)
    after = joins(link)

    assert set(ReferralEdge.objects.filter(inviter=member).values_list("invitee_id", flat=True)) == {before.pk}
    assert not ReferralEvent.objects.filter(invitee=after).exists()
