"""A refund its provider refuses to take (WeChat Pay answering 500) shows on the jobs page, the order's
page and /healthz, and the recovery job hands it over again once the provider is back."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, Refund, RefundState
from orders.payments import ProviderUnavailable
from orders.reconciliation import resend_unsent_refunds
from orders.services import refund_order
from tests.builders.payments import pay_with, send_refunds
from tests.fakes.base import Response

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _every_probe_reads_the_outboxes(settings):
    """These tests change an outbox and probe again at once: no figures kept between probes."""
    settings.HEALTH_OUTBOX_CACHE_SECONDS = 0


BUSY = Response.json({"code": "SYSTEM_ERROR", "message": "系统繁忙"}, 500)


def refunds_outbox(user):
    client = Client()
    client.force_login(user)
    page = client.get(reverse("dashboard:jobs"))
    return next(o for o in page.context["outboxes"] if o.name == "refunds-to-providers")


def test_a_refused_refund_is_visible_and_handed_over_again(client, site, wechat_account, wechatpay_fake, order, owner):
    payment, _url = pay_with(order, "wechatpay:native")
    wechatpay_fake.payer_pays(payment.provider_ref)
    assert wechatpay_fake.notify_payment(payment.provider_ref) == 204
    refund = refund_order(order=Order.objects.get(pk=order.pk), by=owner, reason="缺货")

    wechatpay_fake.fail_next(BUSY)
    with pytest.raises(ProviderUnavailable):
        send_refunds()  # what the worker's task does; it raises so Celery retries it
    refund.refresh_from_db()
    assert refund.provider_ref == "" and refund.send_attempts == 1 and "SYSTEM_ERROR" in refund.send_error

    outbox = refunds_outbox(owner)
    assert outbox.figures.retrying == 1 and "SYSTEM_ERROR" in outbox.figures.last_error
    operator_page = Client()
    operator_page.force_login(owner)
    html = operator_page.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "提交渠道失败" in html and "SYSTEM_ERROR" in html
    assert "refunds-to-providers: 1 failing, being retried" in client.get("/healthz").json()["reasons"]

    # The task gave up; the recovery job tries again after a while, and the provider is back.
    assert resend_unsent_refunds() == 0  # tried a moment ago: not yet
    assert resend_unsent_refunds(now=timezone.now() + timedelta(minutes=3)) == 1
    refund.refresh_from_db()
    assert refund.provider_ref and refund.send_error == "" and refund.send_attempts == 2
    assert refund.state == RefundState.PENDING  # accepted; the provider's notification settles it
    assert refunds_outbox(owner).figures.pending == 0
    assert not [r for r in client.get("/healthz").json()["reasons"] if r.startswith("refunds-to-providers")]
    assert Refund.objects.count() == 1
