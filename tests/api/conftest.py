"""Fixtures for the JSON API tests: DRF clients signed in as the suite's people, and a shop B to probe."""

import pytest
from rest_framework.test import APIClient

from groups import services
from shops.models import OperatorRole
from tests.factories import GroupFactory, GroupSeriesFactory, InviteLinkFactory, OperatorFactory, UserFactory


@pytest.fixture
def api(db):
    """A client nobody is signed in to."""
    return APIClient()


@pytest.fixture
def client_for(db):
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def member_api(client_for, member):
    return client_for(member)


@pytest.fixture
def operator_api(client_for, operator):
    return client_for(operator)


@pytest.fixture
def viewer_api(client_for, viewer):
    return client_for(viewer)


@pytest.fixture
def other_operator(other_shop):
    return OperatorFactory(shop=other_shop, role=OperatorRole.OPERATOR).user


@pytest.fixture
def shop_b(other_shop, other_operator):
    """Shop B's objects: a group with a member, a link, a series. Shop A's operator must never reach them."""
    group = GroupFactory(shop=other_shop)
    membership = services.add_member(group=group, user=UserFactory(), by=other_operator)
    link = InviteLinkFactory(group=group, inviter=other_operator)
    series = GroupSeriesFactory(shop=other_shop)
    return {"group": group, "membership": membership, "link": link, "series": series}


def errors_of(response) -> list[dict]:
    """The project's error shape: {"errors": [{"field", "code", "message"}]}, checked strictly."""
    body = response.json()
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}, error
        assert error["message"], error
    return body["errors"]
