"""The same paid hook run concurrently, in real PostgreSQL transactions: one reward per steward and order,
decided by the unique (order, steward) constraint; the control drops it and a naive check-then-insert
rewards twice. Concurrent grant runs credit each reward once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from groups.models import MemberRole, Membership
from groups.services import set_role
from orders.models import Order, OrderState
from referrals import stewards
from referrals.models import CommissionAccount, CommissionEntry, StewardReward, StewardRewardKind
from referrals.stewards import RuleInput, save_rule
from tests.builders.orders import make_buyer, order_for
from tests.factories import GroupFactory, ShopFactory, SkuFactory, shop_owner
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 8


@pytest.fixture
def paid(db):
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    for role in (MemberRole.OWNER, MemberRole.ADMIN):
        save_rule(
            shop=shop,
            by=shop_owner(shop),
            data=RuleInput(role=role, enabled=True, kind=StewardRewardKind.COMMISSION, rate=Decimal("2.00")),
        )
        person = make_buyer(group)
        set_role(membership=Membership.objects.get(group=group, user=person), by=shop_owner(shop), role=role)
    order = order_for(make_buyer(group), group, SkuFactory(product__shop=shop))
    # Paid without the hooks, so the racers run the stewards' receiver themselves.
    Order.objects.filter(pk=order.pk).update(state=OrderState.PAID, paid_at=timezone.now(), paid_amount=order.total)
    order.refresh_from_db()
    return order


def _on_paid(order_id: int):
    with transaction.atomic():
        return stewards.record_order_paid(Order.objects.get(pk=order_id))


def test_the_paid_hook_racing_itself_rewards_each_steward_once(paid):
    results = race(RACERS, lambda i: _on_paid(paid.pk))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r) for r in results) == 2
    assert StewardReward.objects.filter(order=paid).count() == 2


def test_control_without_the_unique_constraint_a_naive_check_rewards_twice(paid):
    gate = Gate(RACERS)

    def naive(i: int):
        with transaction.atomic():
            order = Order.objects.get(pk=paid.pk)
            seen = StewardReward.objects.filter(order=order).exists()
            gate.wait()  # every racer has looked before anyone inserts
            return [] if seen else stewards.record_order_paid(order)

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE referrals_stewardreward DROP CONSTRAINT one_steward_reward_per_order")
    try:
        race(RACERS, naive)
        assert StewardReward.objects.filter(order=paid).count() > 2  # double rewards: the constraint decides
    finally:
        StewardReward.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE referrals_stewardreward ADD CONSTRAINT one_steward_reward_per_order "
                "UNIQUE (order_id, steward_id)"
            )


def test_concurrent_grant_runs_credit_each_reward_once(paid):
    _on_paid(paid.pk)
    later = timezone.now() + timedelta(days=8)
    results = race(RACERS, lambda i: stewards.grant_due_rewards(now=later))
    assert sum(r for r in results if isinstance(r, int)) == 2, results
    assert CommissionEntry.objects.filter(key__startswith="steward:").count() == 2
    assert sorted(CommissionAccount.objects.values_list("balance", flat=True)) == [Decimal("0.80")] * 2
