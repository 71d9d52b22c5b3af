"""Alipay end to end against the local fake: RSA2-signed requests and answers, mobile web (wap) and
desktop page pay through the fake's cashier, notifications verified and applied once; tampered,
foreign, unsigned and wrong-amount ones refused; refunds confirmed by query; timeouts."""

import logging
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.models import Order, OrderState, OrderTransition, PaymentState, ProviderNotification, RefundState
from orders.payments import ProviderError, get_provider
from orders.payments.base import refund_number
from orders.reconciliation import recover_payments
from orders.services import refund_order, refund_part
from tests.builders.payments import ALIPAY_APP_ID, pay_with, send_refunds
from tests.fakes.keys import keypair

S = OrderState
PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"}


def _post(client, url: str, body: bytes):
    return client.generic("POST", urlsplit(url).path, body, content_type="application/x-www-form-urlencoded")


@pytest.mark.django_db(transaction=True)
def test_a_member_pays_on_the_alipay_cashier_and_the_order_is_paid_once(
    site, alipay_account, alipay_fake, order, client
):
    client.force_login(order.member)
    detail = client.get(f"/m/orders/{order.pk}/", headers=PHONE)
    assert [m.key for m in detail.context["methods"]] == ["alipay:wap"]
    response = client.post(f"/m/orders/{order.pk}/pay/", {"method": "alipay:wap"}, headers=PHONE)
    cashier_url = response["Location"]
    assert cashier_url.startswith(alipay_fake.gateway + "?")
    query = parse_qs(urlsplit(cashier_url).query)
    assert query["method"] == ["alipay.trade.wap.pay"] and query["sign_type"] == ["RSA2"]
    assert query["notify_url"] == [f"{site}/pay/notify/alipay/{alipay_account.pk}/"]

    # The member's browser: the cashier page (it verifies our signature), then "pay".
    browser = requests.Session()
    page = browser.get(cashier_url, timeout=5)
    assert "¥79.80" in page.text
    payment = order.payments.get()
    paid = browser.post(
        f"{alipay_fake.url}/cashier/pay", data={"out_trade_no": payment.provider_ref}, allow_redirects=False
    )
    assert paid.headers["Location"].startswith(f"{site}/m/orders/{order.pk}/paid/?")
    assert alipay_fake.sent_notifications[-1][2] == 200

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.state == S.PAID and payment.state == PaymentState.SUCCEEDED
    assert payment.provider_txn_id == alipay_fake.trades[payment.provider_ref].trade_no

    # Alipay resends until it reads "success"; the same notify_id is applied once.
    url, body, _status = alipay_fake.sent_notifications[-1]
    assert alipay_fake.post(url, body) == (200, "success")
    assert OrderTransition.objects.filter(order=order, to_state=S.PAID).count() == 1
    assert ProviderNotification.objects.filter(provider_ref=payment.provider_ref).count() == 1


@pytest.mark.django_db
def test_on_a_desktop_it_is_page_pay(alipay_account, alipay_fake, order):
    payment, url = pay_with(order, "alipay:page", client="desktop")
    assert parse_qs(urlsplit(url).query)["method"] == ["alipay.trade.page.pay"] and payment.channel == "page"
    with pytest.raises(ValidationError):
        pay_with(order, "alipay:wap", client="desktop")  # not a desktop way of paying


@pytest.fixture
def paid_at_alipay(alipay_account, alipay_fake, order):
    payment, url = pay_with(order, "alipay:wap", client="mobile")
    assert requests.get(url, timeout=5).status_code == 200  # the cashier registers the trade
    alipay_fake.buyer_pays(payment.provider_ref)
    return payment


def _unpaid(order) -> bool:
    order.refresh_from_db()
    refs = order.payments.values_list("provider_ref", flat=True)
    return order.state == S.PENDING_PAYMENT and not ProviderNotification.objects.filter(provider_ref__in=refs).exists()


@pytest.mark.django_db
def test_a_tampered_notification_is_refused_and_logged(client, paid_at_alipay, alipay_fake, order, caplog):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref, tamper=True)
    with caplog.at_level(logging.WARNING, logger="shequn.payments"):
        response = _post(client, url, body)
    assert response.content == b"fail"  # anything but "success": Alipay sends it again
    assert "bad signature" in caplog.text
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_wrong_amount_is_refused_and_logged(client, paid_at_alipay, alipay_fake, order, caplog):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref, total_amount="0.01")
    with caplog.at_level(logging.ERROR, logger="shequn.payments"):
        assert _post(client, url, body).content == b"fail"
    assert "amount/currency mismatch" in caplog.text
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT


@pytest.mark.django_db
def test_a_notification_for_another_app_is_refused(client, paid_at_alipay, alipay_fake, order):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref, app_id="2021000999999999")
    assert _post(client, url, body).content == b"fail"
    assert _unpaid(order)


@pytest.mark.django_db
def test_an_unsigned_notification_is_refused(client, paid_at_alipay, alipay_fake, order):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref)
    stripped = "&".join(part for part in body.decode().split("&") if not part.startswith("sign="))
    assert _post(client, url, stripped.encode()).content == b"fail"
    assert _unpaid(order)


@pytest.mark.django_db
def test_waiting_for_the_buyer_is_acknowledged_and_changes_nothing(client, paid_at_alipay, alipay_fake, order):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref, status="WAIT_BUYER_PAY")
    assert _post(client, url, body).content == b"success"
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_replayed_notification_changes_nothing_the_second_time(client, paid_at_alipay, alipay_fake, order, owner):
    url, body = alipay_fake.payment_notification(paid_at_alipay.provider_ref)
    assert _post(client, url, body).content == b"success"
    refund_order(order=Order.objects.get(pk=order.pk), by=owner, reason="不要了")
    send_refunds()
    order.refresh_from_db()
    assert order.state == S.REFUNDED
    # The old, genuine "TRADE_SUCCESS" notification sent again: the order does not come back to life.
    assert _post(client, url, body).content == b"success"
    order.refresh_from_db()
    assert order.state == S.REFUNDED and order.payments.get().state == PaymentState.SUCCEEDED


@pytest.mark.django_db
def test_refunds_are_paid_out_once_and_confirmed_by_query(client, paid_at_alipay, alipay_fake, order, owner):
    assert _post(client, *alipay_fake.payment_notification(paid_at_alipay.provider_ref)).content == b"success"
    order.refresh_from_db()
    first = refund_part(order=order, amount=Decimal("10.00"), key="diff:1", reason="差价")
    second = refund_part(order=order, amount=Decimal("5.50"), key="diff:2", reason="差价")
    send_refunds()
    for refund in (first, second):
        refund.refresh_from_db()
        assert refund.state == RefundState.SUCCEEDED
    trade = alipay_fake.trades[paid_at_alipay.provider_ref]
    assert trade.refunds.keys() == {refund_number(first), refund_number(second)}
    # Asked again (a retried task): Alipay answers fund_change "N", nothing more is paid.
    provider = get_provider("alipay", account=paid_at_alipay.account)
    provider.start_refund(refund=first, notify_url="http://x/")
    assert sum(amount for amount, _at in trade.refunds.values()) == Decimal("15.50")
    order.refresh_from_db()
    assert order.state == S.PAID and order.refunded_amount == Decimal("15.50")


@pytest.mark.django_db
def test_more_than_was_paid_is_refused_by_alipay_with_its_code(client, paid_at_alipay, alipay_fake, order):
    assert _post(client, *alipay_fake.payment_notification(paid_at_alipay.provider_ref)).content == b"success"
    order.refresh_from_db()
    refund = refund_part(order=order, amount=Decimal("10.00"), key="diff:1", reason="差价")
    alipay_fake.trades[paid_at_alipay.provider_ref].refunds["RF-elsewhere"] = (Decimal("75.00"), "2024-01-01 00:00:00")
    with pytest.raises(ProviderError) as refused:
        get_provider("alipay", account=paid_at_alipay.account).start_refund(refund=refund, notify_url="")
    assert refused.value.code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"


@pytest.mark.django_db
def test_a_payment_whose_notification_never_comes_is_recovered_by_query(paid_at_alipay, order):
    assert recover_payments(now=timezone.now() + timedelta(minutes=3)) == 1
    order.refresh_from_db()
    assert order.state == S.PAID


@pytest.mark.django_db
def test_a_trade_alipay_never_saw_stays_open(alipay_account, order):
    pay_with(order, "alipay:wap", client="mobile")  # the member never opened the cashier
    assert recover_payments(now=timezone.now() + timedelta(minutes=3)) == 0
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT


@pytest.mark.django_db
def test_a_hanging_gateway_times_out(paid_at_alipay, alipay_fake, settings):
    settings.PAYMENT_HTTP_TIMEOUT = 0.5
    alipay_fake.hold()
    try:
        with pytest.raises(ProviderError):
            get_provider("alipay", account=paid_at_alipay.account).query_payment(payment=paid_at_alipay)
    finally:
        alipay_fake.release()


@pytest.mark.django_db
def test_an_answer_not_signed_by_alipay_is_not_believed(paid_at_alipay, alipay_fake):
    alipay_fake.alipay_key = keypair("impostor")
    with pytest.raises(ProviderError, match="signature"):
        get_provider("alipay", account=paid_at_alipay.account).query_payment(payment=paid_at_alipay)


@pytest.mark.django_db
def test_requests_signed_with_another_key_are_refused_by_the_gateway(alipay_account, alipay_fake, order):
    alipay_fake.apps[ALIPAY_APP_ID] = alipay_fake.alipay_public_key_pem  # not the app's key
    with pytest.raises(ProviderError) as refused:
        get_provider("alipay", account=alipay_account).query_payment(payment=pay_with(order, "alipay:page")[0])
    assert refused.value.code == "isv.invalid-signature"


@pytest.mark.django_db
def test_api_clients_pay_with_the_method_they_choose(alipay_account, alipay_fake, order, client):
    client.force_login(order.member)
    response = client.post(f"/api/v1/me/orders/{order.pk}/pay/?method=alipay:wap", headers=PHONE)
    assert response.status_code == 200, response.content
    assert response.json()["pay_url"].startswith(alipay_fake.gateway + "?")
    refused = client.post(f"/api/v1/me/orders/{order.pk}/pay/?method=wechatpay:jsapi", headers=PHONE)
    assert refused.status_code == 400  # not a way this shop or this client can pay
