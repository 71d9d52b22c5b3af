"""Lifecycle, series rotation, roles and group settings: the rules of groups/services and lifecycle."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from groups.lifecycle import ALLOWED_TRANSITIONS, allowed_next_states, transition_group
from groups.models import Channel, Group, GroupState, GroupTransition, InviteLink, MemberRole, Threshold
from groups.services import (
    add_member,
    create_group,
    create_series,
    join_via_link,
    personal_link,
    set_role,
    update_group,
)
from tests.factories import GroupFactory, InviteLinkFactory, TagFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db
S = GroupState


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition_is_allowed_or_refused_by_the_table(source, target, operator):
    group = GroupFactory(state=source)
    if target in ALLOWED_TRANSITIONS[source]:
        transition_group(group=group, to_state=target, by=operator, reason="计划")
        group.refresh_from_db()
        assert group.state == target
        t = GroupTransition.objects.get(group=group)
        assert (t.from_state, t.to_state, t.by, t.reason) == (source, target, operator, "计划")
    else:
        with pytest.raises(ValidationError):
            transition_group(group=group, to_state=target, by=operator)
        group.refresh_from_db()
        assert group.state == source
        assert not GroupTransition.objects.filter(group=group).exists()


def test_lifecycle_walks_forward_and_archived_is_final():
    assert allowed_next_states(S.PREPARING) == [S.RECRUITING, S.ARCHIVED]
    assert allowed_next_states(S.ARCHIVED) == []


def test_capacity_never_above_the_shop_hard_cap(shop, operator):
    shop.settings.group_hard_cap = 300
    shop.settings.save()
    with pytest.raises(ValidationError) as info:
        create_group(shop=shop, name="大群", by=operator, capacity=301)
    assert "capacity" in info.value.message_dict
    assert not Group.objects.exists()
    assert create_group(shop=shop, name="刚好", by=operator, capacity=300).capacity == 300


def test_new_group_takes_the_shop_default_capacity(shop, operator):
    assert create_group(shop=shop, name="默认", by=operator).capacity == 200


def test_capacity_cannot_drop_below_current_members(shop, operator):
    group = GroupFactory(shop=shop, capacity=10)
    for _ in range(3):
        join_via_link(user=UserFactory(), code=InviteLinkFactory(group=group).code)
    with pytest.raises(ValidationError, match="已有 3 人"):
        update_group(
            group=group,
            by=shop_owner(group.shop),
            name=group.name,
            tags=[],
            capacity=2,
            threshold=Threshold.OPEN,
            entry_price=None,
            entry_question="",
        )


def test_database_refuses_more_members_than_capacity(group):
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.filter(pk=group.pk).update(active_member_count=group.capacity + 1)


@pytest.mark.parametrize(
    "fields,bad_field",
    [
        ({"threshold": Threshold.PAID, "entry_price": None}, "entry_price"),
        ({"threshold": Threshold.PAID, "entry_price": Decimal("0")}, "entry_price"),
        ({"threshold": Threshold.SUBMISSION, "entry_question": ""}, "entry_question"),
        ({"capacity": 1}, "capacity"),
    ],
)
def test_inconsistent_group_settings_are_refused(fields, bad_field, shop, operator):
    with pytest.raises(ValidationError) as info:
        create_group(shop=shop, name="x", by=operator, **fields)
    assert bad_field in info.value.message_dict


def test_series_sends_joiners_to_the_first_group_below_threshold_and_opens_the_next(shop, operator):
    tag = TagFactory(shop=shop)
    series = create_series(shop=shop, name="辅食交流", capacity=5, rotation_threshold=2, by=operator, tags=[tag])
    code = InviteLink.objects.get(series=series, channel=Channel.SERIES_CODE).code
    placed = [join_via_link(user=UserFactory(), code=code).group for _ in range(5)]
    assert [g.number_in_series for g in placed] == [1, 1, 2, 2, 3]
    third = Group.objects.get(series=series, number_in_series=3)
    assert third.name == "辅食交流 3群" and third.state == S.RECRUITING and third.capacity == 5
    assert list(third.tags.all()) == [tag]
    assert GroupTransition.objects.filter(group=third, to_state=S.RECRUITING).exists()


def test_series_refills_a_group_that_dropped_below_threshold(shop, operator):
    from groups.services import leave

    series = create_series(shop=shop, name="打卡营", capacity=5, rotation_threshold=2, by=operator)
    code = InviteLink.objects.get(series=series).code
    first = [join_via_link(user=UserFactory(), code=code) for _ in range(3)]
    leave(membership=first[0])
    assert join_via_link(user=UserFactory(), code=code).group.number_in_series == 1


def test_series_rotation_threshold_within_capacity(shop, operator):
    with pytest.raises(ValidationError):
        create_series(shop=shop, name="x", capacity=50, rotation_threshold=60, by=operator)


def test_series_member_joins_only_once(shop, operator, member):
    series = create_series(shop=shop, name="x", capacity=5, rotation_threshold=2, by=operator)
    code = InviteLink.objects.get(series=series).code
    first = join_via_link(user=member, code=code)
    assert join_via_link(user=member, code=code).pk == first.pk


def test_owner_handover_keeps_one_owner(group):
    a, b = UserFactory(), UserFactory()
    ma = add_member(group=group, user=a, by=None, role=MemberRole.OWNER)
    mb = add_member(group=group, user=b, by=None)
    set_role(membership=mb, by=shop_owner(mb.group.shop), role=MemberRole.OWNER)
    ma.refresh_from_db()
    group.refresh_from_db()
    assert (ma.role, group.owner) == (MemberRole.ADMIN, b)
    with pytest.raises(ValidationError):
        set_role(
            membership=mb, by=shop_owner(mb.group.shop), role=MemberRole.MEMBER
        )  # hand over instead of leaving no owner


def test_roles_only_for_active_members(member, operator):
    group = GroupFactory(threshold=Threshold.APPROVAL)
    pending = join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    with pytest.raises(ValidationError):
        set_role(membership=pending, by=shop_owner(pending.group.shop), role=MemberRole.ADMIN)


def test_personal_link_is_made_once_and_only_for_members(group, member):
    with pytest.raises(ValidationError):
        personal_link(user=member, group=group)
    join_via_link(user=member, code=InviteLinkFactory(group=group).code)
    first = personal_link(user=member, group=group)
    assert personal_link(user=member, group=group).pk == first.pk
    assert first.is_personal and first.inviter == member and first.channel == Channel.MEMBER


def test_operator_personal_link_needs_no_membership(group, operator):
    link = personal_link(user=operator, group=group, as_operator=True)
    assert link.channel == Channel.OPERATOR
