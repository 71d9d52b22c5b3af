"""A provider that fails: retried with exponential backoff and jitter, then FAILED, visibly; a provider
that refuses for good fails at once; one channel's failure never holds the others back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.sms import LocmemSmsBackend
from notifications import services
from notifications.models import Category, Channel, Delivery, DeliveryState
from tests.builders.notifications import write

from .backends import DownSmsBackend

pytestmark = pytest.mark.django_db
DS = DeliveryState


@pytest.fixture
def sms_down(settings):
    settings.SMS_BACKEND = "tests.notifications.backends.DownSmsBackend"
    DownSmsBackend.calls = 0


def sms_delivery() -> Delivery:
    return Delivery.objects.get(channel=Channel.SMS)


@pytest.mark.parametrize(
    "attempt, low, high", [(1, 30, 60), (2, 60, 120), (3, 120, 240), (7, 1800, 3600), (12, 1800, 3600)]
)
def test_backoff_doubles_with_jitter_and_a_ceiling(attempt, low, high):
    delays = {services.backoff(attempt).total_seconds() for _ in range(50)}
    assert all(low <= d <= high for d in delays)
    assert len(delays) > 1  # jitter: retries of many deliveries do not stampede together


def test_a_transient_failure_is_retried_later_and_the_other_channels_go_out(shop, customer, sms_down):
    write(shop, customer, Category.TRANSACTIONAL)
    before = timezone.now()

    report = services.deliver_due()

    sms = sms_delivery()
    assert sms.state == DS.QUEUED and sms.attempts == 1 and "provider busy" in sms.last_error
    assert before + timedelta(seconds=30) <= sms.deliver_after <= timezone.now() + timedelta(seconds=60)
    assert report.retrying == 1 and report.sent == 1  # e-mail did not wait for SMS
    assert services.deliver_due().retrying == 0 and DownSmsBackend.calls == 1  # not before its time


def test_after_the_last_attempt_the_delivery_is_failed(shop, customer, sms_down, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    write(shop, customer, Category.TRANSACTIONAL)

    at = timezone.now()
    for _ in range(3):
        services.deliver_due(now=at)
        at = sms_delivery().deliver_after

    sms = sms_delivery()
    assert sms.state == DS.FAILED and sms.attempts == 3 and "provider busy" in sms.last_error
    assert DownSmsBackend.calls == 3
    assert services.deliver_due(now=at + timedelta(days=1)).failed == 0 and DownSmsBackend.calls == 3  # stays failed


def test_a_provider_that_recovers_delivers_on_the_retry(shop, customer, sms_down, settings):
    write(shop, customer, Category.TRANSACTIONAL)
    services.deliver_due()
    settings.SMS_BACKEND = "accounts.sms.LocmemSmsBackend"

    services.deliver_due(now=sms_delivery().deliver_after)

    assert sms_delivery().state == DS.SENT and sms_delivery().attempts == 2
    assert len(LocmemSmsBackend.outbox) == 1


def test_a_permanent_refusal_fails_at_once(shop, customer, settings):
    settings.NOTIFICATION_BACKENDS = {"wechat": "tests.notifications.backends.RefusingWechatBackend"}
    write(shop, customer, Category.TRANSACTIONAL)

    services.deliver_due()

    wechat = Delivery.objects.get(channel=Channel.WECHAT)
    assert wechat.state == DS.FAILED and wechat.attempts == 1 and "no openid" in wechat.last_error
