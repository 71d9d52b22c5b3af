"""The notification pump sends (SMS, WeChat, e-mail) only after its claim committed, holding no lock.

Committed for real (transactional_db): while the SMS provider is being called, another PostgreSQL
connection locks the delivery and its notification with NOWAIT. A send inside the claim's transaction
would make that probe fail at once (the control shows it does).
"""

import pytest
from django.db import transaction

from notifications import services
from notifications.models import Category
from tests.builders.notifications import write

from .backends import ProbingSmsBackend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.race]


@pytest.fixture
def probing_sms(settings):
    settings.SMS_BACKEND = "tests.notifications.backends.ProbingSmsBackend"
    ProbingSmsBackend.seen = []


def test_a_delivery_is_sent_outside_any_transaction_and_lock(shop, customer, probing_sms):
    write(shop, customer, Category.TRANSACTIONAL)
    report = services.deliver_due()
    assert report.sent >= 1
    assert ProbingSmsBackend.seen == [{"in_transaction": False, "delivery": "free", "notification": "free"}]


def test_control_the_probe_sees_a_send_made_inside_a_transaction(shop, customer, probing_sms):
    write(shop, customer, Category.TRANSACTIONAL)
    services.release_due()  # the deliveries exist, committed
    with transaction.atomic():
        services.send_due()
    [seen] = ProbingSmsBackend.seen
    assert seen["in_transaction"] is True and seen["delivery"].startswith("locked")
