"""Two stewards warning the same member at once: the warnings are numbered under the membership's row
lock, so the one that reaches the shop's count removes the member exactly once. The control takes the lock
away and lets every racer count before anyone writes: both warnings then carry the same number and the
count is overshot without a removal."""

import pytest

from groups import enforcement, services
from groups.models import AutomationSettings, MemberRole, Membership, MembershipStatus, MemberWarning
from tests.factories import GroupFactory, UserFactory, shop_owner
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 4


def _scene():
    group = GroupFactory()
    AutomationSettings.objects.create(shop=group.shop, warnings_before_removal=RACERS)
    stewards = [UserFactory() for _ in range(RACERS)]
    for user in stewards:
        services.add_member(group=group, user=user, by=shop_owner(group.shop), role=MemberRole.ADMIN)
    member = services.add_member(group=group, user=UserFactory(), by=shop_owner(group.shop))
    return group, stewards, member


def test_concurrent_warnings_are_numbered_and_remove_exactly_once():
    _group, stewards, member = _scene()

    results = race(RACERS, lambda i: enforcement.warn(membership=member, by=stewards[i], rule=f"规则{i}"))

    assert all(isinstance(r, MemberWarning) for r in results), results
    assert sum(r.removed_member for r in results) == 1
    assert Membership.objects.get(pk=member.pk).status == MembershipStatus.REMOVED


def test_control_without_the_lock_the_count_is_overshot(monkeypatch):
    _group, stewards, member = _scene()
    gate = Gate(RACERS)
    real_standing = enforcement.standing_warnings

    def unlocked(membership):
        return Membership.objects.select_related("group", "user").get(pk=membership.pk)

    class CountThenWait:
        def __init__(self, qs):
            self.qs = qs

        def count(self):
            seen = self.qs.count()
            gate.wait()
            return seen

    monkeypatch.setattr(enforcement, "_locked", unlocked)
    monkeypatch.setattr(enforcement, "standing_warnings", lambda m: CountThenWait(real_standing(m)))

    race(RACERS, lambda i: enforcement.warn(membership=member, by=stewards[i], rule=f"规则{i}"))

    assert MemberWarning.objects.filter(membership=member).count() == RACERS  # the count was reached…
    assert not MemberWarning.objects.filter(membership=member, removed_member=True).exists()  # …and missed
    assert Membership.objects.get(pk=member.pk).status == MembershipStatus.ACTIVE
