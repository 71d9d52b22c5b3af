"""Groups with members added through the service, so seats and memberships are real."""

from datetime import timedelta

from groups.services import add_member
from tests.factories import UserFactory

DAY = timedelta(days=1)  # the step the jobs' tests move their clock (`now`) by


def with_members(group, n: int) -> list:
    """Add n members to the group (through the service, so seats and memberships are real)."""
    return [add_member(group=group, user=UserFactory(), by=None) for _ in range(n)]
