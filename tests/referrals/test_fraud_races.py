"""Fraud review under real concurrent transactions: a flag is raised once, decided once."""

import pytest
from django.core.exceptions import ValidationError

from referrals import fraud
from referrals.fraud_models import FlagStatus, FraudFlag
from referrals.models import EventKind, ReferralEvent
from tests.factories import ShopFactory, UserFactory
from tests.race import race
from tests.referrals.board_support import at, record

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _burst(shop, n=25):
    inviter = UserFactory(date_joined=at(1))
    for i in range(n):
        record(
            shop=shop, inviter=inviter, invitee=UserFactory(date_joined=at(1)), kind=EventKind.JOINED, at=at(5, 8, i)
        )


def test_detection_jobs_running_at_once_raise_each_flag_once():
    shop = ShopFactory()
    _burst(shop)

    results = race(6, lambda i: fraud.detect(shop_id=shop.pk, now=at(5, 23)))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 1
    [flag] = FraudFlag.objects.all()
    assert flag.events.count() == 5


def test_two_reviewers_deciding_at_once_decide_once():
    shop = ShopFactory()
    _burst(shop)
    fraud.detect(shop_id=shop.pk, now=at(5, 23))
    flag = FraudFlag.objects.get()
    reviewers = [UserFactory(), UserFactory()]

    def decide(i):
        action = fraud.confirm_flag if i == 0 else fraud.clear_flag
        return action(flag=flag, by=reviewers[i], reason=f"审核人 {i}")

    results = race(2, decide)

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1, results
    flag.refresh_from_db()
    voided = ReferralEvent.objects.filter(voided_at__isnull=False).count()
    assert (flag.status, voided) in [(FlagStatus.CONFIRMED, 5), (FlagStatus.CLEARED, 0)]
