"""Fixtures for the periodic jobs: groups with members, and a clock the tests move by passing `now`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from groups.services import add_member
from tests.factories import UserFactory

DAY = timedelta(days=1)


def with_members(group, n: int) -> list:
    """Add n members to the group (through the service, so seats and memberships are real)."""
    return [add_member(group=group, user=UserFactory(), by=None) for _ in range(n)]


@pytest.fixture
def now():
    return timezone.now()
