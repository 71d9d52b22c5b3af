"""Repeat-purchase reminders: when a member is due, who gets a reminder, and that it is sent once.

Due dates come from real paid orders (the order hooks write them); the job functions take `now`, so a test
moves the clock by passing a later time, never by mocking. Notifications are the notifications app's rows.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from groups.models import AutomationSettings
from notifications.models import Notification, NotificationSettings, NotificationState
from notifications.services import update_preferences
from orders import reminders
from orders.models import DueBasis, DueState, Order, OrderState, RepurchaseDue, RepurchaseReminder
from orders.reminders import Purchase, compute_due, dispatch_due_reminders, refresh_due, send_reminder_batch
from orders.services import approve_refund, cancel_order, open_case, request_refund
from tests.builders.orders import deliver, make_buyer, order_for, pay
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def bought(buyer, group, sku, transport, *, quantity=1, days_ago=None):
    """A paid order; `days_ago` moves its purchase back in time and rewrites the due date from it."""
    order = order_for(buyer, group, sku, quantity=quantity)
    pay(order, transport)
    if days_ago is not None:
        at = timezone.now() - days_ago * DAY
        Order.objects.filter(pk=order.pk).update(paid_at=at, created_at=at - timedelta(minutes=5))
        refresh_due(member_id=buyer.pk, product=sku.product)
        order.refresh_from_db()
    return order


def due_of(buyer, sku) -> RepurchaseDue:
    return RepurchaseDue.objects.get(member=buyer, product=sku.product)


def run_reminders(now, batch_size=1000) -> int:
    """One dispatch run whose batches run right away (as a worker would), at `now`."""
    sent = []
    dispatch_due_reminders(
        now=now, batch_size=batch_size, enqueue=lambda ids: sent.append(send_reminder_batch(ids, now=now))
    )
    return sum(sent)


def reminder_notifications(buyer=None):
    qs = Notification.objects.filter(kind="repurchase")
    return qs.filter(user=buyer) if buyer else qs


# --- Due dates -----------------------------------------------------------------------------------------


def test_one_purchase_is_due_after_the_usage_cycle_times_the_quantity(buyer, buyer_group, sku, transport):
    sku.product.usage_cycle_days = 30
    sku.product.save()
    order = bought(buyer, buyer_group, sku, transport, quantity=2)
    due = due_of(buyer, sku)
    assert due.basis == DueBasis.CYCLE
    assert due.due_at == order.paid_at + 60 * DAY
    assert (due.cycle, due.purchases, due.last_quantity, due.state) == (order.pk, 1, 2, DueState.WAITING)


def test_two_or_more_purchases_use_the_members_own_median_interval(buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=50)
    bought(buyer, buyer_group, sku, transport, days_ago=30)  # 20 days later
    last = bought(buyer, buyer_group, sku, transport, days_ago=0)  # 30 days later: median of 20 and 30 is 25
    due = due_of(buyer, sku)
    assert due.basis == DueBasis.MEDIAN
    assert due.purchases == 3
    assert due.interval == 25 * DAY
    assert due.due_at == last.paid_at + 25 * DAY
    assert due.cycle == last.pk


def test_the_median_ignores_one_unusual_gap():
    t0 = timezone.now()
    purchases = [Purchase(i, 1, 1, t0 + timedelta(days=d), 1) for i, d in enumerate([0, 10, 20, 90, 100])]
    assert compute_due(purchases, usage_cycle_days=30).interval == 10 * DAY  # gaps 10, 10, 70, 10


def test_orders_paid_the_same_day_are_one_purchase_of_their_combined_quantity():
    t0 = timezone.now()
    due = compute_due([Purchase(1, 1, 1, t0, 1), Purchase(2, 1, 1, t0 + timedelta(hours=2), 2)], usage_cycle_days=10)
    assert (due.basis, due.interval, due.cycle) == (DueBasis.CYCLE, 30 * DAY, 2)
    assert compute_due([], usage_cycle_days=10) is None


def test_a_refunded_purchase_no_longer_counts(buyer, buyer_group, sku, transport):
    first = bought(buyer, buyer_group, sku, transport, days_ago=20)
    second = bought(buyer, buyer_group, sku, transport)
    assert due_of(buyer, sku).cycle == second.pk
    request_refund(order=second, by=buyer, reason="不想要了")
    approve_refund(order=second, by=None)
    deliver(transport)
    second.refresh_from_db()
    assert second.state == OrderState.REFUNDED
    due = due_of(buyer, sku)
    assert (due.cycle, due.basis, due.due_at) == (first.pk, DueBasis.CYCLE, first.paid_at + 30 * DAY)


def test_when_every_purchase_is_refunded_nothing_is_due(buyer, buyer_group, sku, transport):
    order = bought(buyer, buyer_group, sku, transport)
    request_refund(order=order, by=buyer, reason="不想要了")
    approve_refund(order=order, by=None)
    deliver(transport)
    assert not RepurchaseDue.objects.filter(member=buyer).exists()


def test_an_unpaid_order_sets_no_due_date(buyer, buyer_group, sku):
    order_for(buyer, buyer_group, sku)
    assert not RepurchaseDue.objects.exists()


# --- Picking who is due -----------------------------------------------------------------------------


def test_a_reminder_goes_the_shops_lead_days_before_the_due_date(shop, buyer, buyer_group, sku, transport):
    order = bought(buyer, buyer_group, sku, transport)  # due in 30 days; default lead 2 days
    assert run_reminders(order.paid_at + 27 * DAY) == 0
    assert run_reminders(order.paid_at + 28 * DAY + timedelta(minutes=1)) == 1
    assert reminder_notifications(buyer).get().category == "reminder"


def test_the_lead_days_are_a_shop_setting(shop, buyer, buyer_group, sku, transport):
    AutomationSettings.objects.create(shop=shop, reminder_lead_days=5)
    order = bought(buyer, buyer_group, sku, transport)
    assert run_reminders(order.paid_at + 24 * DAY) == 0
    assert run_reminders(order.paid_at + 25 * DAY + timedelta(minutes=1)) == 1


def test_due_members_are_handed_out_in_batches_not_one_task_each(buyer_group, sku, transport):
    buyers = [make_buyer(buyer_group) for _ in range(5)]
    for b in buyers:
        bought(b, buyer_group, sku, transport, days_ago=29)
    batches = []
    handed = dispatch_due_reminders(now=timezone.now(), batch_size=2, enqueue=batches.append)
    assert handed == 5
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(sum(batches, [])) == sorted(RepurchaseDue.objects.values_list("pk", flat=True))
    # Handed-out rows are not handed out again by the next run…
    assert dispatch_due_reminders(now=timezone.now(), enqueue=batches.append) == 0
    # …unless their batch was lost (a killed worker): then again after REQUEUE_AFTER, and sent once.
    later = timezone.now() + reminders.REQUEUE_AFTER + timedelta(minutes=1)
    assert run_reminders(later) == 5
    assert reminder_notifications().count() == 5


# --- Once per member, product and cycle ---------------------------------------------------------------


def test_a_reminder_is_sent_once_however_often_the_job_and_its_batches_run(buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=29)
    now = timezone.now()
    ids = list(RepurchaseDue.objects.values_list("pk", flat=True))
    assert send_reminder_batch(ids, now=now) == 1
    assert send_reminder_batch(ids, now=now) == 0  # the batch redelivered
    assert run_reminders(now) == 0  # the job again
    assert run_reminders(now + reminders.REQUEUE_AFTER * 2) == 0
    assert RepurchaseReminder.objects.count() == 1
    assert reminder_notifications(buyer).count() == 1


def test_a_batch_retried_after_it_failed_halfway_sends_each_reminder_once(buyer_group, sku, transport):
    buyers = [make_buyer(buyer_group) for _ in range(3)]
    for b in buyers:
        bought(b, buyer_group, sku, transport, days_ago=29)
    ids = list(RepurchaseDue.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    assert send_reminder_batch(ids[:1], now=now) == 1  # what the first attempt got done before it died
    assert send_reminder_batch(ids, now=now) == 2  # the retry
    assert sorted(RepurchaseReminder.objects.values_list("member_id", flat=True)) == sorted(b.pk for b in buyers)
    assert reminder_notifications().count() == 3


def test_a_reminder_whose_row_was_reset_by_a_refund_is_not_sent_again(buyer, buyer_group, sku, transport):
    first = bought(buyer, buyer_group, sku, transport, days_ago=29)
    assert run_reminders(timezone.now()) == 1
    second = bought(buyer, buyer_group, sku, transport)
    request_refund(order=second, by=buyer, reason="不想要了")
    approve_refund(order=second, by=None)
    deliver(transport)
    due = due_of(buyer, sku)
    assert (due.cycle, due.state) == (first.pk, DueState.WAITING)  # back to the first cycle…
    assert run_reminders(timezone.now()) == 0  # …which had its reminder already
    assert reminder_notifications(buyer).count() == 1
    assert due_of(buyer, sku).state == DueState.REMINDED


def test_the_next_cycle_gets_its_own_reminder(buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=60)
    bought(buyer, buyer_group, sku, transport, days_ago=31)
    assert run_reminders(timezone.now()) == 1
    bought(buyer, buyer_group, sku, transport)  # repurchased: a new cycle, due in about 30 days
    assert due_of(buyer, sku).state == DueState.WAITING
    assert run_reminders(timezone.now()) == 0
    # Due 30 days on (the median of the 29- and 31-day gaps) plus half the seconds the three purchases took
    # to make; reminded from the 2-day lead on. The hour covers that drift on a loaded machine.
    assert run_reminders(timezone.now() + 28 * DAY + timedelta(hours=1)) == 1
    assert RepurchaseReminder.objects.filter(member=buyer).count() == 2


# --- Not sent -----------------------------------------------------------------------------------------


def test_no_reminder_while_the_member_has_already_reordered(buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=29)
    pending = order_for(buyer, buyer_group, sku)  # placed, not paid yet
    assert run_reminders(timezone.now()) == 0
    assert not reminder_notifications().exists()
    cancel_order(order=pending, by=buyer)  # changed their mind: now the reminder is due after all
    assert run_reminders(timezone.now() + reminders.REQUEUE_AFTER * 2) == 1


def test_no_reminder_to_a_member_who_opted_out_of_reminders(shop, buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=29)
    update_preferences(
        user=buyer, shop=shop, marketing=True, reminder=False, campaign=True, quiet_start=None, quiet_end=None
    )
    now = timezone.now()
    assert run_reminders(now) == 0
    assert not RepurchaseReminder.objects.exists()
    assert due_of(buyer, sku).state == DueState.WAITING  # tried again later, should they opt back in…
    update_preferences(
        user=buyer, shop=shop, marketing=True, reminder=True, campaign=True, quiet_start=None, quiet_end=None
    )
    assert run_reminders(now + timedelta(hours=1)) == 0  # …not at every run: after RETRY_DEFERRED
    assert run_reminders(now + reminders.RETRY_DEFERRED) == 1


def test_a_capped_member_is_reminded_later_not_never(shop, buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=29)
    NotificationSettings.objects.create(shop=shop, daily_cap=1, weekly_cap=3)
    now = timezone.now()
    Notification.objects.create(
        shop=shop,
        user=buyer,
        category="marketing",
        kind="promo",
        key="promo:1",
        title="新品",
        state=NotificationState.SENT,
        sent_at=now - timedelta(hours=1),
    )
    assert run_reminders(now) == 0
    assert run_reminders(now + DAY + reminders.REQUEUE_AFTER) == 1


def test_no_reminder_while_an_after_sales_case_is_open(buyer, buyer_group, sku, transport):
    order = bought(buyer, buyer_group, sku, transport, days_ago=29)
    open_case(order=order, member=buyer, reason="包装破损")
    assert run_reminders(timezone.now()) == 0
    assert not reminder_notifications().exists()


def test_a_reminder_not_sent_a_week_after_the_due_date_lapses(buyer, buyer_group, sku, transport):
    order = bought(buyer, buyer_group, sku, transport)
    late = order.paid_at + 30 * DAY + reminders.LAPSE_AFTER + DAY
    assert run_reminders(late) == 0
    assert due_of(buyer, sku).state == DueState.LAPSED


# --- Conversion ---------------------------------------------------------------------------------------


def test_a_reorder_paid_within_seven_days_of_the_reminder_is_its_conversion(buyer, buyer_group, transport, shop):
    sku = SkuFactory(product__shop=shop)
    bought(buyer, buyer_group, sku, transport, days_ago=33)
    run_reminders(timezone.now() - 5 * DAY)  # reminded five days ago
    reorder = bought(buyer, buyer_group, sku, transport)
    reminder = RepurchaseReminder.objects.get()
    assert (reminder.converted_order_id, reminder.converted_at) == (reorder.pk, reorder.paid_at)


def test_a_reorder_more_than_seven_days_later_is_not_a_conversion(buyer, buyer_group, sku, transport):
    bought(buyer, buyer_group, sku, transport, days_ago=40)
    run_reminders(timezone.now() - 8 * DAY)
    bought(buyer, buyer_group, sku, transport)
    assert RepurchaseReminder.objects.get().converted_order is None


def test_paying_records_the_members_activity_in_the_group(buyer, buyer_group, sku, transport):
    from groups.models import MemberActivity, Membership

    order = bought(buyer, buyer_group, sku, transport)
    activity = MemberActivity.objects.get(user=buyer, kind="order")
    assert (activity.group_id, activity.ref) == (buyer_group.pk, f"order:{order.pk}")
    assert Membership.objects.get(user=buyer, group=buyer_group).last_active_at == order.paid_at
