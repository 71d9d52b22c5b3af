"""The outbox: written in the caller's transaction, once per key, delivered after commit by workers;
nothing lost when the process dies between the commit and the delivery, nothing sent twice."""

import pytest
from django.core import mail
from django.db import transaction

from accounts.sms import LocmemSmsBackend
from notifications import services
from notifications.models import Category, Channel, Delivery, DeliveryState, Notification, NotificationState
from notifications.tasks import deliver_notifications
from tests.builders.notifications import write
from tests.race import race

pytestmark = pytest.mark.django_db

DS, NS = DeliveryState, NotificationState


def test_a_notification_is_written_once_per_key(shop, customer):
    first = write(shop, customer, Category.TRANSACTIONAL, key="order:1:paid")
    again = write(shop, customer, Category.TRANSACTIONAL, key="order:1:paid", title="付款成功（重复）")

    assert first is not None and again is None
    assert Notification.objects.filter(key="order:1:paid").count() == 1
    assert Notification.objects.get(key="order:1:paid").title == "本周新品"


def test_a_duplicate_key_does_not_break_the_callers_transaction(shop, customer):
    with transaction.atomic():
        write(shop, customer, key="k1")
        assert write(shop, customer, key="k1") is None
        write(shop, customer, key="k2")  # the transaction is still usable

    assert set(Notification.objects.values_list("key", flat=True)) == {"k1", "k2"}


def test_the_notification_rolls_back_with_the_event_that_caused_it(shop, customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        write(shop, customer, Category.TRANSACTIONAL, key="order:2:paid")
        raise RuntimeError("the payment could not be recorded")

    assert not Notification.objects.exists()


def test_an_unknown_category_or_an_empty_key_is_a_programming_error(shop, customer):
    with pytest.raises(ValueError):
        write(shop, customer, category="newsletter")
    with pytest.raises(ValueError):
        write(shop, customer, key=" ")


def test_one_kick_per_transaction_however_many_notifications(shop, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for _ in range(5):
            write(shop, customer, Category.TRANSACTIONAL)

    assert callbacks == [services._kick]


def test_delivery_puts_it_in_the_inbox_and_sends_every_reachable_channel(shop, customer):
    """The customer never signed in with WeChat: inbox, SMS and e-mail (WeChat first, SMS as its fallback,
    when WeChat can reach them: tests/notifications/test_wechat_messages.py)."""
    notification = write(shop, customer, Category.TRANSACTIONAL, title="付款成功", body="订单已付款", url="/m/orders/")

    report = services.deliver_due()

    notification.refresh_from_db()
    assert notification.state == NS.SENT and notification.sent_at is not None
    states = dict(notification.deliveries.values_list("channel", "state"))
    assert states == {Channel.INBOX: DS.SENT, Channel.SMS: DS.SENT, Channel.EMAIL: DS.SENT}
    assert report.released == 1 and report.sent == 2  # inbox is delivered on release
    assert [m.phone for m in LocmemSmsBackend.outbox] == [customer.phone]
    assert (
        "付款成功" in LocmemSmsBackend.outbox[0].text
        and "http://testserver/m/orders/" in LocmemSmsBackend.outbox[0].text
    )
    assert mail.outbox[0].to == ["fang@example.com"] and "付款成功" in mail.outbox[0].subject


def test_a_member_without_email_gets_no_email_delivery(shop, customer):
    customer.email = ""
    customer.save()
    notification = write(shop, customer, Category.TRANSACTIONAL)

    services.deliver_due()

    assert not notification.deliveries.filter(channel=Channel.EMAIL).exists()
    assert mail.outbox == []


def test_a_redelivered_task_sends_nothing_twice(shop, customer):
    write(shop, customer, Category.TRANSACTIONAL)

    deliver_notifications.apply()
    deliver_notifications.apply()  # the broker redelivers the same task (or beat runs it again)

    assert len(LocmemSmsBackend.outbox) == 1 and len(mail.outbox) == 1
    assert Delivery.objects.filter(state=DS.SENT).count() == 3


def test_a_worker_that_died_mid_send_is_retried_when_its_lease_runs_out(shop, customer):
    write(shop, customer, Category.TRANSACTIONAL)
    services.release_due()
    claimed_at = Delivery.objects.get(channel=Channel.SMS).deliver_after
    services._claim_deliveries(claimed_at, limit=10)  # a worker claims… and is killed before sending
    assert services.send_due(now=claimed_at).sent == 0  # its claims are not free yet: nothing sent twice

    later = claimed_at + services.LEASE
    report = services.send_due(now=later)

    assert report.sent == 2 and len(LocmemSmsBackend.outbox) == 1
    assert Delivery.objects.get(channel=Channel.SMS).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_delivery_loses_nothing(shop, customer, monkeypatch):
    """The event commits with its notification; the process dies before the kick reaches a worker.
    The periodic job (beat → worker) finds the row and delivers it."""
    monkeypatch.setattr(services, "_kick", lambda: None)  # the kick is lost with the process

    with transaction.atomic():
        notification = write(shop, customer, Category.TRANSACTIONAL, key="order:7:paid")

    notification.refresh_from_db()
    assert notification.state == NS.PENDING and not notification.deliveries.exists()
    assert LocmemSmsBackend.outbox == []

    deliver_notifications.apply()  # what beat's "deliver-notifications" entry makes a worker run

    notification.refresh_from_db()
    assert notification.state == NS.SENT
    assert notification.deliveries.filter(state=DS.SENT).count() == 3
    assert len(LocmemSmsBackend.outbox) == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_each_delivery_once(shop, customer):
    for _ in range(10):
        write(shop, customer, Category.TRANSACTIONAL)

    results = race(4, lambda i: services.deliver_due())

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(LocmemSmsBackend.outbox) == 10 and len(mail.outbox) == 10
    assert Delivery.objects.filter(state=DS.SENT).count() == 30  # inbox, SMS, e-mail
    assert sum(r.sent for r in results) == 20  # the inbox is delivered on release


def test_a_run_sends_every_delivery_of_a_channel_through_one_backend(shop, customer, settings):
    """A backend may hold a provider client (an HTTP session, an access token): built once per run, not
    once per message."""
    from tests.notifications.backends import InstanceRecordingWechatBackend

    settings.NOTIFICATION_BACKENDS = {"wechat": "tests.notifications.backends.InstanceRecordingWechatBackend"}
    InstanceRecordingWechatBackend.senders = []
    for _ in range(4):
        write(shop, customer, Category.TRANSACTIONAL)

    report = services.deliver_due()

    assert report.released == 4
    assert len(InstanceRecordingWechatBackend.senders) == 4
    assert len(set(InstanceRecordingWechatBackend.senders)) == 1
