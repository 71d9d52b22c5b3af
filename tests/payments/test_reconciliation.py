"""The daily statement of each provider against the ledger, to the fen, with every difference listed."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from orders.models import DifferenceKind, PaymentAccount, ReconciliationRun, ReconciliationState
from orders.payments.base import refund_number
from orders.reconciliation import reconcile_day, reconcile_latest
from orders.services import refund_part
from tests.builders.orders import make_buyer, order_for
from tests.builders.payments import pay_with, send_refunds
from tests.fakes.base import Response

pytestmark = pytest.mark.django_db


def _post(client, url, body, headers=None, content_type="application/json"):
    headers = {k: v for k, v in (headers or {}).items() if k != "Content-Type"}
    return client.generic("POST", urlsplit(url).path, body, content_type=content_type, headers=headers)


def _wechat_paid_order(client, fake, group, sku, quantity=1):
    order = order_for(make_buyer(group), group, sku, quantity=quantity)
    payment, _url = pay_with(order, "wechatpay:native")
    fake.payer_pays(payment.provider_ref)
    assert _post(client, *fake.payment_notification(payment.provider_ref)).status_code == 204
    order.refresh_from_db()
    return order, payment


def test_wechat_pay_day_balances_to_the_fen(client, wechat_account, wechatpay_fake, buyer_group, sku):
    first, _p1 = _wechat_paid_order(client, wechatpay_fake, buyer_group, sku, quantity=3)  # 119.70
    _second, _p2 = _wechat_paid_order(client, wechatpay_fake, buyer_group, sku)  # 39.90
    refund = refund_part(order=first, amount=Decimal("0.01"), key="diff:first", reason="差一分")
    send_refunds()
    refund.refresh_from_db()
    wechatpay_fake.succeed_refund(refund_number(refund))
    assert _post(client, *wechatpay_fake.refund_notification(refund_number(refund))).status_code == 204

    run = reconcile_day(account=wechat_account, day=timezone.localdate())
    assert run.state == ReconciliationState.BALANCED, list(run.differences.values())
    assert run.provider_paid == run.ledger_paid == Decimal("159.60")
    assert run.provider_refunded == run.ledger_refunded == Decimal("0.01")
    assert not run.differences.exists()


def test_every_difference_is_listed(client, wechat_account, wechatpay_fake, buyer_group, sku):
    _ok, _paid = _wechat_paid_order(client, wechatpay_fake, buyer_group, sku)
    # 1. WeChat Pay took money whose notification we never got (and nobody queried yet).
    silent = order_for(make_buyer(buyer_group), buyer_group, sku)
    silent_payment, _url = pay_with(silent, "wechatpay:native")
    wechatpay_fake.payer_pays(silent_payment.provider_ref)
    # 2. A payment our ledger has that the statement lacks.
    _order, vanished = _wechat_paid_order(client, wechatpay_fake, buyer_group, sku)
    wechatpay_fake.transactions[vanished.provider_ref].success_time = "2000-01-01T00:00:00+08:00"
    # 3. A payment the statement shows with another amount.
    _order, changed = _wechat_paid_order(client, wechatpay_fake, buyer_group, sku)
    wechatpay_fake.transactions[changed.provider_ref].total = 3980

    run = reconcile_day(account=wechat_account, day=timezone.localdate())
    found = {(d.kind, d.reference, d.provider_amount, d.ledger_amount) for d in run.differences.all()}
    assert run.state == ReconciliationState.DIFFERENCES
    assert found == {
        (DifferenceKind.MISSING_IN_LEDGER, silent_payment.provider_ref, Decimal("39.90"), None),
        (DifferenceKind.MISSING_AT_PROVIDER, vanished.provider_ref, None, Decimal("39.90")),
        (DifferenceKind.AMOUNT_MISMATCH, changed.provider_ref, Decimal("39.80"), Decimal("39.90")),
    }

    # Running the day again replaces the run: one per account and day.
    reconcile_day(account=wechat_account, day=timezone.localdate())
    assert ReconciliationRun.objects.filter(account=wechat_account).count() == 1


def test_alipay_day_balances_to_the_fen(client, alipay_account, alipay_fake, buyer_group, sku):
    orders = []
    for quantity in (1, 2):
        order = order_for(make_buyer(buyer_group), buyer_group, sku, quantity=quantity)
        payment, url = pay_with(order, "alipay:wap", client="mobile")
        assert requests.get(url, timeout=5).status_code == 200
        alipay_fake.buyer_pays(payment.provider_ref)
        url, body = alipay_fake.payment_notification(payment.provider_ref)
        assert _post(client, url, body, content_type="application/x-www-form-urlencoded").content == b"success"
        order.refresh_from_db()
        orders.append(order)
    refund_part(order=orders[1], amount=Decimal("12.34"), key="diff:alipay", reason="差价")
    send_refunds()

    run = reconcile_day(account=alipay_account, day=timezone.localdate())
    assert run.state == ReconciliationState.BALANCED, list(run.differences.values())
    assert run.provider_paid == run.ledger_paid == Decimal("119.70")
    assert run.provider_refunded == run.ledger_refunded == Decimal("12.34")


def test_a_statement_that_cannot_be_fetched_is_a_failed_run(wechat_account, wechatpay_fake, owner):
    wechatpay_fake.fail_next(Response.json({"code": "SYSTEM_ERROR", "message": "系统繁忙"}, 500))
    run = reconcile_day(account=wechat_account, day=timezone.localdate(), by=owner)
    assert run.state == ReconciliationState.FAILED and "SYSTEM_ERROR" in run.error and run.by == owner


def test_an_incomplete_merchant_account_is_a_failed_run_not_an_error_page(client, shop, owner):
    account = PaymentAccount.objects.create(shop=shop, provider="wechatpay")  # saved before its keys
    client.force_login(owner)
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client.post("/dashboard/payments/reconcile/", {"account": account.pk, "day": yesterday.isoformat()})

    run = ReconciliationRun.objects.get(account=account, day=yesterday)
    assert response.status_code == 302 and run.state == ReconciliationState.FAILED
    assert "merchant account incomplete" in run.error and "cert_serial_no" in run.error


def test_the_job_reconciles_the_latest_published_day_of_enabled_accounts(wechat_account, wechatpay_fake):
    from datetime import datetime, time, timedelta

    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    assert reconcile_latest(now=datetime.combine(today, time(11, 0), tzinfo=tz)) == 1
    assert wechatpay_fake.calls("/v3/bill/tradebill")[-1].query["bill_date"] == str(today - timedelta(days=1))
    reconcile_latest(now=datetime.combine(today, time(9, 0), tzinfo=tz))  # not published yet: the day before
    assert wechatpay_fake.calls("/v3/bill/tradebill")[-1].query["bill_date"] == str(today - timedelta(days=2))
