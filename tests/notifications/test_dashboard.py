"""The operator's notifications page: the shop's notifications and what became of them (sent, held,
capped, failed deliveries with their error), retrying a failure, and the shop's message rules.
Scoped to the shop; viewers read only; the rules are the owner's."""

from datetime import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import services
from notifications.models import Category, Channel, Delivery, DeliveryState, NotificationSettings
from shops.models import OperatorRole
from tests.builders.notifications import noon, write
from tests.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard:notifications")
SETTINGS = reverse("dashboard:notification_settings")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def failed_sms(shop, customer, settings):
    """A transactional notification whose SMS failed for good."""
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    settings.SMS_BACKEND = "tests.notifications.backends.DownSmsBackend"
    write(shop, customer, Category.TRANSACTIONAL, title="付款成功")
    services.deliver_due()
    settings.SMS_BACKEND = "accounts.sms.LocmemSmsBackend"
    return Delivery.objects.get(channel=Channel.SMS, state=DeliveryState.FAILED)


def test_the_list_shows_states_reasons_and_failures(shop, customer, operator, failed_sms):
    write(shop, customer, title="本周新品")
    write(shop, customer, title="又一条推广")
    services.deliver_due(now=noon())  # one sent, the next capped

    page = html(client_for(operator).get(LIST))

    assert "本周新品" in page and "又一条推广" in page and "付款成功" in page
    assert "超出频次未发" in page and "已达发送频次上限" in page
    assert "发送失败" in page and "provider busy (503)" in page
    assert "1 个投递失败" in page
    assert reverse("dashboard:delivery_retry", args=[failed_sms.pk]) in page


def test_kinds_are_named_not_coded(shop, customer, operator):
    write(shop, customer, Category.TRANSACTIONAL, kind="order_paid", title="付款成功")
    write(shop, customer, kind="lurker_follow_up", title="好久不见")

    page = html(client_for(operator).get(LIST))

    assert "付款成功通知" in page and "沉默成员关怀" in page
    assert "order_paid" not in page and "lurker_follow_up" not in page


def test_filters(shop, customer, operator, failed_sms):
    write(shop, customer, title="本周新品")
    services.deliver_due(now=noon())
    client = client_for(operator)

    failed = html(client.get(LIST, {"failed": "on"}))
    assert "付款成功" in failed and "本周新品" not in failed
    marketing = html(client.get(LIST, {"category": "marketing"}))
    assert "本周新品" in marketing and "付款成功" not in marketing
    assert client.get(LIST, {"state": "nonsense", "page": "x"}).status_code == 200  # bad input never 500s


def test_another_shops_notifications_are_not_listed_nor_retried(shop, other_shop, operator, failed_sms):
    other_operator = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user

    page = html(client_for(other_operator).get(LIST))
    response = client_for(other_operator).post(reverse("dashboard:delivery_retry", args=[failed_sms.pk]))

    assert "付款成功" not in page
    assert response.status_code == 404
    failed_sms.refresh_from_db()
    assert failed_sms.state == DeliveryState.FAILED


def test_an_operator_retries_a_failed_delivery_and_it_is_sent(shop, operator, failed_sms):
    response = client_for(operator).post(reverse("dashboard:delivery_retry", args=[failed_sms.pk]))
    assert response.status_code == 302

    failed_sms.refresh_from_db()
    assert (failed_sms.state, failed_sms.attempts) == (DeliveryState.QUEUED, 0)
    services.deliver_due()
    failed_sms.refresh_from_db()
    assert failed_sms.state == DeliveryState.SENT

    again = client_for(operator).post(reverse("dashboard:delivery_retry", args=[failed_sms.pk]), follow=True)
    assert "只有发送失败的投递可以重试" in html(again)


def test_a_viewer_sees_but_cannot_retry(shop, viewer, failed_sms):
    client = client_for(viewer)
    page = html(client.get(LIST))

    assert "付款成功" in page and reverse("dashboard:delivery_retry", args=[failed_sms.pk]) not in page
    assert client.post(reverse("dashboard:delivery_retry", args=[failed_sms.pk])).status_code == 403
    failed_sms.refresh_from_db()
    assert failed_sms.state == DeliveryState.FAILED


def test_members_and_strangers_are_kept_out(client, customer):
    client.force_login(customer)
    assert client.get(LIST).status_code == 403  # no seat on any shop
    client.logout()
    assert client.get(LIST).status_code == 302


def test_the_list_runs_in_a_constant_number_of_queries(shop, customer, operator, django_assert_num_queries):
    client = client_for(operator)
    write(shop, customer, Category.TRANSACTIONAL)
    services.deliver_due()

    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for _ in range(10):
        write(shop, UserFactory(), Category.TRANSACTIONAL)
    services.deliver_due()

    with django_assert_num_queries(len(one)):
        page = client.get(LIST)
    assert html(page).count("<tr>") == 12  # header + 11 rows


# --- The shop's rules (owner) ----------------------------------------------------------------------


def test_the_owner_sets_the_cap_and_quiet_hours(shop, owner):
    client = client_for(owner)
    assert "21:00" in html(client.get(SETTINGS))

    response = client.post(SETTINGS, {"daily_cap": 2, "weekly_cap": 4, "quiet_start": "22:00", "quiet_end": "08:00"})

    assert response.status_code == 302
    rules = NotificationSettings.objects.get(shop=shop)
    assert (rules.daily_cap, rules.weekly_cap, rules.quiet_start, rules.quiet_end) == (2, 4, time(22), time(8))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"daily_cap": 3, "weekly_cap": 2, "quiet_start": "21:00", "quiet_end": "09:00"}, "每周上限不能小于每日上限"),
        ({"daily_cap": 0, "weekly_cap": 2, "quiet_start": "21:00", "quiet_end": "09:00"}, "大于或等于"),
        ({"daily_cap": "x", "weekly_cap": 2, "quiet_start": "21:00", "quiet_end": "09:00"}, "输入整数"),
        ({"daily_cap": 1, "weekly_cap": 3, "quiet_start": "晚上", "quiet_end": "09:00"}, "输入一个有效的时间"),
    ],
)
def test_bad_rules_are_shown_on_the_form(shop, owner, data, message):
    response = client_for(owner).post(SETTINGS, data)

    assert response.status_code == 200 and message in html(response)
    assert not NotificationSettings.objects.exists()


def test_only_the_owner_changes_the_rules(shop, operator, viewer):
    for user in (operator, viewer):
        client = client_for(user)
        assert client.get(SETTINGS).status_code == 403
        assert (
            client.post(
                SETTINGS, {"daily_cap": 5, "weekly_cap": 9, "quiet_start": "21:00", "quiet_end": "09:00"}
            ).status_code
            == 403
        )
    assert not NotificationSettings.objects.exists()
