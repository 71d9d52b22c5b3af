"""While WeChat Pay is being asked to create a payment or take a refund, nothing of ours is locked and no
transaction is open: the fake holds its answer, and meanwhile another PostgreSQL connection locks the
order and the payment (or refund) with NOWAIT. A service calling the provider under its order lock
would make that probe fail at once (the control shows it does)."""

import threading

import pytest
from django.db import connections, transaction

from orders.models import Order, Payment, Refund
from orders.services import refund_order, send_refund_to_provider
from tests.builders.payments import pay_with
from tests.race import lock_elsewhere

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.race]


def while_the_provider_holds(fake, route: str, call, probe) -> tuple[list, object]:
    """Run `call` in a thread; once its request reached the fake (which holds the answer), run `probe`."""
    fake.hold()
    outcome = []

    def run():
        try:
            outcome.append(call())
        except Exception as exc:  # the test reads it
            outcome.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    reached = threading.Event()
    for _ in range(150):
        if fake.calls(route):
            reached.set()
            break
        reached.wait(0.1)
    try:
        seen = probe() if reached.is_set() else "the request never reached the provider"
    finally:
        fake.release()
        thread.join(timeout=30)
    return outcome, seen


def test_creating_a_payment_holds_no_lock_while_wechat_pay_answers(wechat_account, wechatpay_fake, order):
    def probe():
        payment = Payment.objects.get(order=order)
        return lock_elsewhere(Order, order.pk), lock_elsewhere(Payment, payment.pk)

    outcome, seen = while_the_provider_holds(
        wechatpay_fake, "/v3/pay/transactions/native", lambda: pay_with(order, "wechatpay:native"), probe
    )
    assert seen == ("free", "free")
    assert not isinstance(outcome[0], Exception), outcome


def test_handing_a_refund_over_holds_no_lock_while_wechat_pay_answers(
    site, wechat_account, wechatpay_fake, order, owner
):
    payment, _url = pay_with(order, "wechatpay:native")
    wechatpay_fake.payer_pays(payment.provider_ref)
    assert wechatpay_fake.notify_payment(payment.provider_ref) == 204
    refund = refund_order(order=Order.objects.get(pk=order.pk), by=owner, reason="缺货")

    outcome, seen = while_the_provider_holds(
        wechatpay_fake,
        "/v3/refund/domestic/refunds",
        lambda: send_refund_to_provider(refund.pk),
        lambda: (lock_elsewhere(Order, order.pk), lock_elsewhere(Refund, refund.pk)),
    )
    assert seen == ("free", "free")
    assert not isinstance(outcome[0], Exception), outcome


def test_control_a_provider_call_under_the_order_lock_is_seen(wechat_account, wechatpay_fake, order):
    def under_the_lock():
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            return pay_with(order, "wechatpay:native")

    outcome, seen = while_the_provider_holds(
        wechatpay_fake, "/v3/pay/transactions/native", under_the_lock, lambda: lock_elsewhere(Order, order.pk)
    )
    assert seen.startswith("locked")
