"""Fixtures for the operator dashboard tests: a signed-in client per role, and another shop's objects."""

import pytest
from django.test import Client

from groups import services
from groups.models import MembershipStatus, Threshold
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, TagFactory, UserFactory, shop_owner


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def tag(shop):
    return TagFactory(shop=shop, name="宝妈")


@pytest.fixture
def approval_group(shop, owner):
    group = GroupFactory(shop=shop, threshold=Threshold.APPROVAL, entry_question="你为什么想加入？")
    return group


@pytest.fixture
def applicant(approval_group, owner):
    """A pending membership: someone asked to join through a link of an approval group."""
    link = services.create_link(
        shop=approval_group.shop, by=shop_owner(approval_group.shop), inviter=owner, group=approval_group
    )
    membership = services.join_via_link(user=UserFactory(display_name="申请人甲"), code=link.code, answer="我是宝妈")
    assert membership.status == MembershipStatus.PENDING
    return membership


@pytest.fixture
def series(shop, owner):
    return services.create_series(shop=shop, name="护肤交流", capacity=10, rotation_threshold=8, by=owner)


@pytest.fixture
def foreign(other_shop):
    """One object of each kind in another shop: every dashboard URL must answer 404 for them."""
    other_owner = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=other_shop, name="别家的群")
    membership = services.add_member(group=group, user=UserFactory(), by=other_owner)
    link = services.create_link(shop=other_shop, by=shop_owner(other_shop), inviter=other_owner, group=group)
    series = services.create_series(shop=other_shop, name="别家系列", capacity=10, rotation_threshold=8, by=other_owner)
    seat = other_owner.operator_seats.get()
    return {
        "group": group,
        "membership": membership,
        "link": link,
        "series": series,
        "seat": seat,
        "tag": TagFactory(shop=other_shop),
    }
