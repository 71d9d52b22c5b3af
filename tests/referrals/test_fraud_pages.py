"""Fraud review pages: operators review their own shop's queue (viewers read only), platform admins every
shop's; a decision needs a reason; another shop's flag is a 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals import fraud
from referrals.fraud_models import FlagStatus, FraudFlag, FraudSettings
from referrals.models import EventKind, ReferralEvent
from tests.factories import OperatorFactory, UserFactory
from tests.referrals.board_support import at, record

pytestmark = pytest.mark.django_db

QUEUE = reverse("dashboard:fraud_flags")


def _burst(shop, name="阿丽", n=22):
    inviter = UserFactory(display_name=name, date_joined=at(1))
    for i in range(n):
        record(
            shop=shop, inviter=inviter, invitee=UserFactory(date_joined=at(1)), kind=EventKind.JOINED, at=at(5, 8, i)
        )
    fraud.detect(shop_id=shop.pk, now=at(5, 23))
    return FraudFlag.objects.get(shop=shop, member=inviter)


@pytest.fixture
def flag(shop):
    return _burst(shop)


@pytest.fixture
def foreign_flag(other_shop):
    return _burst(other_shop, name="别家成员")


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, phone=None, email="admin@platform.test"))
    return client


def test_the_queue_explains_each_flag_in_words(operator_client, flag, foreign_flag):
    response = operator_client.get(QUEUE)
    body = response.content.decode()
    assert response.status_code == 200
    assert "邀请过快" in body and "阿丽 在 2025-03-05 一天内带来 22 人入群" in body
    assert "别家成员" not in body


def test_another_shops_flag_is_a_404(operator_client, foreign_flag):
    assert operator_client.get(reverse("dashboard:fraud_flag", args=[foreign_flag.pk])).status_code == 404
    response = operator_client.post(
        reverse("dashboard:fraud_decide", args=[foreign_flag.pk]), {"action": "confirm", "reason": "x"}
    )
    assert response.status_code == 404
    foreign_flag.refresh_from_db()
    assert foreign_flag.status == FlagStatus.OPEN


def test_operators_confirm_with_a_reason(operator_client, operator, flag):
    response = operator_client.post(
        reverse("dashboard:fraud_decide", args=[flag.pk]), {"action": "confirm", "reason": "核实为刷量"}, follow=True
    )
    assert "已确认，作废了 2 条事件" in response.content.decode()
    flag.refresh_from_db()
    assert (flag.status, flag.decided_by, flag.decision_reason) == (FlagStatus.CONFIRMED, operator, "核实为刷量")
    assert ReferralEvent.objects.filter(voided_at__isnull=False, voided_by=operator).count() == 2


def test_a_decision_without_a_reason_or_a_choice_is_refused_in_words(operator_client, flag):
    url = reverse("dashboard:fraud_decide", args=[flag.pk])
    missing = operator_client.post(url, {"action": "clear", "reason": "  "})
    assert missing.status_code == 400 and "请写明处理理由" in missing.content.decode()
    nonsense = operator_client.post(url, {"action": "delete-everything", "reason": "x"})
    assert nonsense.status_code == 400 and "请选择确认或排除" in nonsense.content.decode()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_a_second_decision_is_refused(operator_client, flag):
    url = reverse("dashboard:fraud_decide", args=[flag.pk])
    operator_client.post(url, {"action": "clear", "reason": "线下活动"})
    again = operator_client.post(url, {"action": "confirm", "reason": "改主意"})
    assert again.status_code == 400 and "已经处理过了" in again.content.decode()
    assert not ReferralEvent.objects.filter(voided_at__isnull=False).exists()


def test_viewers_read_but_cannot_decide(client, viewer, flag):
    client.force_login(viewer)
    page = client.get(reverse("dashboard:fraud_flag", args=[flag.pk]))
    assert page.status_code == 200 and "提交处理" not in page.content.decode()
    denied = client.post(reverse("dashboard:fraud_decide", args=[flag.pk]), {"action": "confirm", "reason": "x"})
    assert denied.status_code == 403
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_platform_admins_review_every_shops_flags(staff_client, flag, foreign_flag):
    body = staff_client.get(reverse("platform:fraud_flags")).content.decode()
    assert "阿丽" in body and "别家成员" in body
    response = staff_client.post(
        reverse("platform:fraud_decide", args=[foreign_flag.pk]), {"action": "clear", "reason": "店铺已核实"}
    )
    assert response.status_code == 302
    foreign_flag.refresh_from_db()
    assert foreign_flag.status == FlagStatus.CLEARED and foreign_flag.decided_by.is_staff


def test_the_queue_runs_the_same_queries_for_one_flag_or_many(operator_client, shop):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(QUEUE).status_code == 200
        return len(captured)

    _burst(shop, name="一号")
    one = queries()
    for i in range(4):
        _burst(shop, name=f"{i}号")
    assert FraudFlag.objects.count() == 5 and queries() == one


def test_owners_set_the_thresholds_others_only_read_them(client, shop, owner, operator):
    url = reverse("dashboard:fraud_settings")
    values = {
        "burst_limit_per_day": 15,
        "young_account_minutes": 10,
        "shared_window_minutes": 30,
        "shared_device_limit": 3,
        "shared_ip_limit": 8,
        "dormant_after_days": 7,
        "dormant_min_invitees": 4,
        "decision_hours": 48,
        "default_decision": "release",
    }
    client.force_login(operator)
    assert client.post(url, values).status_code == 403
    client.force_login(owner)
    bad = client.post(url, {**values, "burst_limit_per_day": 0})
    assert bad.status_code == 400 and "大于或等于" in bad.content.decode()
    assert client.post(url, values).status_code == 302
    rules = FraudSettings.objects.get(shop=shop)
    assert (rules.burst_limit_per_day, rules.default_decision) == (15, "release")


def test_an_operator_of_another_shop_sees_none_of_it(client, flag):
    stranger = OperatorFactory().user
    client.force_login(stranger)
    assert "阿丽" not in client.get(QUEUE).content.decode()
    assert client.get(reverse("dashboard:fraud_flag", args=[flag.pk])).status_code == 404
