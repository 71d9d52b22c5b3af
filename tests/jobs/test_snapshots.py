"""The weekly group health snapshot: last week's members, joins, leaves, active members, orders, GMV and
repeat buyers, stored once per group and week, so history stays when the group changes."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from groups.activity import record_activity
from groups.jobs import last_complete_week, take_health_snapshots, week_of
from groups.lifecycle import transition_group
from groups.models import ActivityKind, GroupHealthSnapshot, GroupState, MemberActivity, Membership
from groups.services import leave
from orders.models import Order
from tests.builders.groups import DAY, with_members
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.factories import GroupFactory, SkuFactory
from tests.race import race

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday; the last complete week is Monday 2026-03-02 … Monday 2026-03-09 (Shanghai).
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)
WEEK = last_complete_week(NOW)


def test_weeks_run_monday_to_monday_in_shanghai_time():
    assert WEEK.start_date == date(2026, 3, 2)
    assert (WEEK.start, WEEK.end) == (datetime(2026, 3, 2, tzinfo=SHANGHAI), datetime(2026, 3, 9, tzinfo=SHANGHAI))
    # Sunday 23:30 in Shanghai is still that week, although it is Sunday 15:30 UTC.
    assert week_of(datetime(2026, 3, 8, 23, 30, tzinfo=SHANGHAI).date()).start_date == date(2026, 3, 2)


def paid_in_week(buyer, group, sku, transport, at):
    order = order_for(buyer, group, sku)
    pay(order, transport)
    Order.objects.filter(pk=order.pk).update(paid_at=at, created_at=at)
    return order


def test_a_snapshot_counts_the_groups_week(shop, client):
    group = GroupFactory(shop=shop)
    type(group).objects.filter(pk=group.pk).update(created_at=WEEK.start - 30 * DAY)
    sku = SkuFactory(product__shop=shop, price=Decimal("39.90"))
    transport = DjangoClientTransport(client)
    loyal, newcomer, quiet = make_buyer(group), make_buyer(group), make_buyer(group)
    in_week = WEEK.start + 2 * DAY
    Membership.objects.filter(group=group).update(joined_at=WEEK.start - 10 * DAY)
    Membership.objects.filter(group=group, user=newcomer).update(joined_at=in_week)  # joined in the week
    extra = leave(membership=with_members(group, 1)[0])
    Membership.objects.filter(pk=extra.pk).update(joined_at=WEEK.start - DAY, left_at=in_week)
    paid_in_week(loyal, group, sku, transport, WEEK.start - 20 * DAY)  # bought before: a repeat buyer now
    paid_in_week(loyal, group, sku, transport, in_week)
    paid_in_week(newcomer, group, sku, transport, in_week + DAY)
    paid_in_week(quiet, group, sku, transport, WEEK.end + DAY)  # after the week
    Order.objects.filter(member=quiet).update(paid_at=WEEK.end + DAY)
    MemberActivity.objects.all().delete()  # the payments' own activities were at the real "now"
    for user in (loyal, newcomer):
        record_activity(group_id=group.pk, user_id=user.pk, kind=ActivityKind.CHECK_IN, at=in_week)
    record_activity(group_id=group.pk, user_id=loyal.pk, kind=ActivityKind.ORDER, at=in_week)

    assert take_health_snapshots(now=NOW) == 1
    snap = GroupHealthSnapshot.objects.get(group=group)
    assert snap.week_start == WEEK.start_date
    assert (snap.joins, snap.leaves, snap.active_members) == (1, 1, 2)
    assert (snap.orders, snap.gmv, snap.repeat_buyers) == (2, Decimal("79.80"), 1)
    assert (snap.members, snap.state) == (3, GroupState.ACTIVE)


def test_one_snapshot_per_group_and_week_however_often_the_job_runs(shop):
    group = GroupFactory(shop=shop)
    type(group).objects.filter(pk=group.pk).update(created_at=WEEK.start - DAY)
    assert take_health_snapshots(now=NOW) == 1
    assert take_health_snapshots(now=NOW + timedelta(hours=1)) == 0
    assert GroupHealthSnapshot.objects.filter(group=group).count() == 1
    # The next week gets its own.
    assert take_health_snapshots(now=NOW + 7 * DAY) == 1
    assert GroupHealthSnapshot.objects.filter(group=group).count() == 2


def test_history_stays_when_the_group_changes(shop):
    group = GroupFactory(shop=shop)
    type(group).objects.filter(pk=group.pk).update(created_at=WEEK.start - DAY)
    take_health_snapshots(now=NOW)
    transition_group(group=group, to_state=GroupState.ARCHIVED, reason="活动结束")
    snap = GroupHealthSnapshot.objects.get(group=group)
    assert snap.state == GroupState.ACTIVE


def test_groups_archived_before_the_week_or_created_after_it_get_none(shop):
    old = GroupFactory(shop=shop)
    type(old).objects.filter(pk=old.pk).update(created_at=WEEK.start - 60 * DAY)
    transition_group(group=old, to_state=GroupState.ARCHIVED, reason="结束", at=WEEK.start - DAY)
    GroupFactory(shop=shop)  # created now, after that week
    assert take_health_snapshots(now=NOW) == 0
    assert not GroupHealthSnapshot.objects.exists()


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_store_one_snapshot_per_group(shop):
    groups = [GroupFactory(shop=shop) for _ in range(4)]
    type(groups[0]).objects.filter(pk__in=[g.pk for g in groups]).update(created_at=WEEK.start - DAY)
    race(3, lambda i: take_health_snapshots(now=NOW))
    assert GroupHealthSnapshot.objects.count() == 4
