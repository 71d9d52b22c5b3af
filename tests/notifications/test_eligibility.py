"""may_market for a whole batch (notifications.marketing_eligibility): the same decision for every member as
may_market asked one by one, in a constant number of queries whatever the batch size."""

import itertools
import random
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from notifications import services
from notifications.models import (
    COMMERCIAL,
    Category,
    Notification,
    NotificationSettings,
    NotificationState,
    Preference,
)
from orders.models import AfterSalesCase, CaseState, Order, OrderState
from tests.builders.notifications import noon
from tests.factories import GroupFactory, ShopFactory

pytestmark = pytest.mark.django_db
_numbers = itertools.count()


def members(n: int) -> list[User]:
    start = next(_numbers) * 1000
    return User.objects.bulk_create(
        [User(username=f"elig{start + i}", display_name=f"会员{i}", password="!") for i in range(n)]
    )


def case(member, group, state: str) -> None:
    """An after-sales case of the member in the group's shop, on an order of their own."""
    n = next(_numbers)
    order = Order.objects.create(
        shop=group.shop,
        group=group,
        member=member,
        number=f"E{n:012d}",
        state=OrderState.COMPLETED,
        subtotal=Decimal("10.00"),
        total=Decimal("10.00"),
        delivery="shipping",
        recipient_name="王芳",
        recipient_phone="13800138000",
        address="上海市徐汇区漕溪北路 1 号",
        idempotency_key=f"e{n}",
        request_fingerprint="eligibility",
        pay_deadline=timezone.now(),
    )
    AfterSalesCase.objects.create(order=order, shop=group.shop, member=member, reason="破损", state=state)


def sent(shop, member, at, *, category=Category.MARKETING, state=NotificationState.SENT) -> None:
    Notification.objects.create(
        shop=shop,
        user=member,
        category=category,
        kind="test",
        key=f"elig:{next(_numbers)}",
        title="本周新品",
        state=state,
        sent_at=at if state == NotificationState.SENT else None,
    )


def random_history(rng, member, shop, elsewhere, group, other_group, at) -> None:
    """A random mix for one member: opt-outs, own quiet hours, after-sales cases, messages sent before."""
    if rng.random() < 0.6:  # a preference row: opt-outs per category, own quiet hours or none
        quiet = rng.choice([(None, None), (time(12), time(14)), (time(0), time(0))])
        Preference.objects.create(
            user=member,
            shop=shop,
            marketing=rng.random() < 0.75,
            reminder=rng.random() < 0.75,
            campaign=rng.random() < 0.75,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
        )
    if rng.random() < 0.2:
        Preference.objects.create(user=member, shop=elsewhere, marketing=False, reminder=False, campaign=False)
    for _i in range(rng.choice([0, 0, 1, 1, 2])):  # after-sales: open, closed, or in another shop
        which = rng.random()
        if which < 0.4:
            case(member, group, CaseState.OPEN)
        elif which < 0.8:
            case(member, group, CaseState.RESOLVED)
        else:
            case(member, other_group, CaseState.OPEN)
    for _i in range(rng.choice([0, 0, 1, 2, 3, 4])):  # what was sent before: in and out of the windows
        when = at - timedelta(minutes=rng.choice([5, 60 * 23, 60 * 25, 60 * 24 * 6, 60 * 24 * 8, -30]))
        kind = rng.random()
        if kind < 0.6:
            sent(shop, member, when, category=rng.choice(COMMERCIAL))
        elif kind < 0.7:
            sent(shop, member, when, category=Category.TRANSACTIONAL)
        elif kind < 0.8:
            sent(elsewhere, member, when)
        else:
            sent(shop, member, when, state=rng.choice([NotificationState.CAPPED, NotificationState.PENDING]))


@pytest.mark.parametrize("seed", range(6))
def test_the_batch_decides_exactly_as_may_market_does_member_by_member(seed):
    rng = random.Random(seed)
    shop, elsewhere = ShopFactory(), ShopFactory()
    group, other_group = GroupFactory(shop=shop), GroupFactory(shop=elsewhere)
    if rng.random() < 0.7:
        daily = rng.randint(1, 3)
        NotificationSettings.objects.create(
            shop=shop, daily_cap=daily, weekly_cap=rng.randint(daily, 5), quiet_start=time(22), quiet_end=time(8)
        )
    at = noon()
    people = members(40)
    for member in people:
        random_history(rng, member, shop, elsewhere, group, other_group, at)

    for category in (*COMMERCIAL, Category.TRANSACTIONAL):
        expected = {m.pk for m in people if services.may_market(m, shop, at, category=category)}
        assert services.marketing_eligibility(people, shop, at, category=category) == expected, category
        assert services.marketing_eligibility([m.pk for m in people], shop.pk, at, category=category) == expected
        if category == Category.MARKETING:
            assert 0 < len(expected) < len(people)  # the mix decided both ways


def test_an_empty_batch_and_an_unknown_category(shop):
    assert services.marketing_eligibility([], shop) == set()
    with pytest.raises(ValueError):
        services.marketing_eligibility(members(1), shop, category="spam")


@pytest.mark.parametrize("size", [1, 200])
def test_a_batch_costs_the_same_queries_whatever_its_size(size, django_assert_num_queries):
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    NotificationSettings.objects.create(shop=shop, daily_cap=2, weekly_cap=5)
    at = noon()
    people = members(size)
    for i, member in enumerate(people):
        Preference.objects.create(user=member, shop=shop, marketing=i % 7 != 3)
        sent(shop, member, at - timedelta(hours=2))
        if i % 5 == 4:
            case(member, group, CaseState.RESOLVED)

    with django_assert_num_queries(4):  # preferences, after-sales cases, the shop's settings, the cap counts
        eligible = services.marketing_eligibility(people, shop, at)

    assert eligible == {m.pk for i, m in enumerate(people) if i % 7 != 3}
