"""The reminder batch in bulk: one eligibility decision per shop and chunk, the reminder rows inserted with
ON CONFLICT DO NOTHING and a notification only for a reminder inserted now, in a constant number of
statements whatever the batch size."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from notifications import services as notifications
from notifications.models import Notification, NotificationState, Preference
from notifications.services import Outgoing, notify_many
from orders import reminders
from orders.models import AfterSalesCase, CaseState, DueState, Order, OrderState, RepurchaseDue, RepurchaseReminder
from orders.reminders import RETRY_DEFERRED, send_reminder_batch
from tests.factories import GroupFactory, ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db
_numbers = itertools.count()


def order_of(member, group, at) -> Order:
    n = next(_numbers)
    return Order.objects.create(
        shop=group.shop,
        group=group,
        member=member,
        number=f"R{n:012d}",
        state=OrderState.COMPLETED,
        subtotal=Decimal("10.00"),
        total=Decimal("10.00"),
        delivery="shipping",
        recipient_name="王芳",
        recipient_phone="13800138000",
        address="上海市徐汇区漕溪北路 1 号",
        idempotency_key=f"r{n}",
        request_fingerprint="reminders",
        pay_deadline=at,
        created_at=at,
        paid_at=at,
    )


def due_members(n: int, shop=None):
    """n members of a shop, each with an order 29 days ago and its due row (due tomorrow)."""
    shop = shop or ShopFactory()
    group, product = GroupFactory(shop=shop), ProductFactory(shop=shop)
    bought = timezone.now() - timedelta(days=29)
    start = next(_numbers) * 1000
    people = User.objects.bulk_create(
        [User(username=f"rb{start + i}", display_name=f"会员{i}", password="!") for i in range(n)]
    )
    rows = []
    for member in people:
        order = order_of(member, group, bought)
        rows.append(
            RepurchaseDue(
                shop=shop,
                member=member,
                product=product,
                group=group,
                cycle=order.pk,
                last_purchase_at=bought,
                last_quantity=1,
                purchases=1,
                interval=timedelta(days=30),
                basis="cycle",
                due_at=bought + timedelta(days=30),
            )
        )
    RepurchaseDue.objects.bulk_create(rows)
    return shop, group, product, people, [r.pk for r in rows]


def test_a_mixed_batch_reminds_exactly_the_eligible_members_once():
    shop, group, product, people, ids = due_members(36)
    now = timezone.now()
    for i, member in enumerate(people):
        if i % 5 == 1:
            Preference.objects.create(user=member, shop=shop, reminder=False)
        if i % 7 == 2:
            AfterSalesCase.objects.create(
                order=member.orders.get(), shop=shop, member=member, reason="破损", state=CaseState.OPEN
            )
        if i % 4 == 3:  # today's commercial message already went out: capped (1 a day)
            Notification.objects.create(
                shop=shop,
                user=member,
                category="marketing",
                kind="test",
                key=f"cap:{member.pk}",
                title="本周新品",
                state=NotificationState.SENT,
                sent_at=now - timedelta(hours=1),
            )
        if i % 9 == 4:  # reminded by an earlier run of this cycle
            RepurchaseReminder.objects.create(
                shop=shop, member=member, product=product, cycle=member.orders.get().pk, due_at=now, sent_at=now
            )
    already = {m.pk for i, m in enumerate(people) if i % 9 == 4}
    may = {m.pk for m in people if notifications.may_market(m, shop, now, category="reminder")}
    expected = may - already

    sent = send_reminder_batch(ids, now=now)

    assert sent == len(expected) and 0 < len(expected) < len(people) - len(already)
    reminded = RepurchaseReminder.objects.filter(member_id__in=expected)
    assert sorted(reminded.values_list("member_id", flat=True)) == sorted(expected)
    told = Notification.objects.filter(kind="repurchase")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(expected)
    assert set(reminded.values_list("notification_id", flat=True)) == set(told.values_list("pk", flat=True))
    states = dict(RepurchaseDue.objects.values_list("member_id", "state"))
    assert {m for m, s in states.items() if s == DueState.REMINDED} == expected | already
    deferred = RepurchaseDue.objects.filter(state=DueState.WAITING)
    assert {d.member_id for d in deferred} == {m.pk for m in people} - expected - already
    assert {d.not_before for d in deferred} == {now + RETRY_DEFERRED}

    assert send_reminder_batch(ids, now=now) == 0  # again: nothing twice
    assert Notification.objects.filter(kind="repurchase").count() == len(expected)


def test_a_reminder_row_written_meanwhile_gets_no_second_notification(monkeypatch):
    """A reminder row that appears between the check and the insert (a racing batch) is skipped by the
    INSERT (ON CONFLICT DO NOTHING): no notification is written for it."""
    shop, group, product, people, ids = due_members(4)
    now = timezone.now()
    first = RepurchaseDue.objects.get(pk=ids[0])
    original = reminders._reminded
    reminders_written = []

    def reminded_then_race(rows):
        seen = original(rows)
        if not reminders_written:
            reminders_written.append(
                RepurchaseReminder.objects.create(
                    shop=shop, member_id=first.member_id, product=product, cycle=first.cycle, due_at=now, sent_at=now
                )
            )
        return seen

    monkeypatch.setattr(reminders, "_reminded", reminded_then_race)
    assert send_reminder_batch(ids, now=now) == 3
    assert not Notification.objects.filter(user_id=first.member_id).exists()
    assert Notification.objects.filter(kind="repurchase").count() == 3


def test_a_batch_costs_the_same_statements_whatever_its_size():
    def statements(n):
        _shop, _group, _product, _people, ids = due_members(n)
        with CaptureQueriesContext(connection) as queries:
            assert send_reminder_batch(ids, now=timezone.now()) == n
        return len(queries)

    assert statements(3) == statements(60)


def test_notify_many_writes_each_key_once_and_answers_the_new_ones(shop):
    member = User.objects.create(username="nm", display_name="会员", password="!")

    def item(key):
        return Outgoing(shop_id=shop.pk, user_id=member.pk, category="reminder", kind="k", key=key, title="t", body="b")

    first = notify_many([item("a"), item("b")])
    second = notify_many([item("b"), item("c"), item("c")])

    assert set(first) == {"a", "b"} and set(second) == {"c"}
    assert sorted(Notification.objects.values_list("key", flat=True)) == ["a", "b", "c"]
    assert Notification.objects.get(key="c").pk == second["c"]
    with pytest.raises(ValueError):
        notify_many(
            [Outgoing(shop_id=shop.pk, user_id=member.pk, category="spam", kind="k", key="d", title="t", body="")]
        )
