"""Fixtures of the groups tests."""

import pytest

from groups.models import Membership, MembershipStatus
from tests.factories import GroupFactory, UserFactory
from tests.groups.space_support import ROLES, member_in


@pytest.fixture
def people(shop):
    """Group A of the shop with one person per role, a pending applicant, a member of group B of the same
    shop, and a member of a group of another shop."""
    group = GroupFactory(shop=shop)
    by_role = {role: member_in(group, role) for role in ROLES}
    pending = UserFactory()
    Membership.objects.create(group=group, user=pending, status=MembershipStatus.PENDING)
    other_group = GroupFactory(shop=shop)
    other_shop_group = GroupFactory()
    return {
        "group": group,
        **by_role,
        "pending": pending,
        "other_group_member": member_in(other_group),
        "other_group": other_group,
        "other_shop_member": member_in(other_shop_group),
        "other_shop_group": other_shop_group,
        "stranger": UserFactory(),
    }
