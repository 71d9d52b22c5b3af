"""WeChat Pay API v3 end to end against the local fake: signed requests and answers, JSAPI / H5 /
Native, notifications verified, decrypted and applied once; tampered, replayed, foreign and
wrong-amount ones refused; refunds; timeouts; the platform-certificate mode."""

import logging
import re
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import ValidationError

from orders.models import Order, OrderState, OrderTransition, PaymentState, ProviderNotification, Refund, RefundState
from orders.payments import ProviderError, ProviderUnavailable, get_provider
from orders.payments.base import refund_number
from orders.services import refund_order
from tests.builders.payments import APPID, MCHID, pay_with, send_refunds, setup_wechatpay
from tests.fakes.keys import keypair, public_pem, verify_sha256
from tests.fakes.wechatpay import FakeWechatPay

S = OrderState


def _post(client, url: str, body: bytes, headers: dict):
    path = urlsplit(url).path
    return client.generic(
        "POST",
        path,
        body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


# --- End to end over HTTP: the fake posts to the live server ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_member_pays_by_native_qr_code_and_the_order_is_paid_once(
    site, wechat_account, wechatpay_fake, order, client
):
    payment, url = pay_with(order, "wechatpay:native")
    assert url == f"/pay/wechat/{payment.provider_ref}/"
    assert payment.account == wechat_account and payment.channel == "native"
    trade = wechatpay_fake.transactions[payment.provider_ref]
    assert trade.total == 7980 and trade.trade_type == "NATIVE"  # 2 × ¥39.90, in fen
    # Callbacks go to the public SITE_URL, to the URL of this shop's merchant account.
    assert trade.notify_url == f"{site}/pay/notify/wechatpay/{wechat_account.pk}/"

    client.force_login(order.member)
    page = client.get(url)
    assert page.status_code == 200 and page.context["qr_data_uri"].startswith("data:image/svg+xml;base64,")

    wechatpay_fake.payer_pays(payment.provider_ref)
    assert wechatpay_fake.notify_payment(payment.provider_ref) == 204
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.state == S.PAID
    assert payment.state == PaymentState.SUCCEEDED and payment.provider_txn_id == trade.transaction_id

    # WeChat Pay resends the same notification (same id) until it sees 2xx, and a second one may cross it.
    url, body, headers = wechatpay_fake.sent_notifications[0][:3]
    assert wechatpay_fake.post(url, body, headers) == 204
    assert wechatpay_fake.notify_payment(payment.provider_ref) == 204
    assert OrderTransition.objects.filter(order=order, to_state=S.PAID).count() == 1
    assert ProviderNotification.objects.filter(provider_ref=payment.provider_ref).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refund_is_paid_out_once_and_confirmed_by_its_notification(
    site, wechat_account, wechatpay_fake, order, owner
):
    payment, _url = pay_with(order, "wechatpay:native")
    wechatpay_fake.payer_pays(payment.provider_ref)
    assert wechatpay_fake.notify_payment(payment.provider_ref) == 204

    refund = refund_order(order=Order.objects.get(pk=order.pk), by=owner, reason="不想要了")
    send_refunds()
    refund.refresh_from_db()
    number = refund_number(refund)
    record = wechatpay_fake.refunds[number]
    assert record.refund == 7980 and record.notify_url == f"{site}/pay/notify/wechatpay/{wechat_account.pk}/"
    assert refund.state == RefundState.PENDING and refund.provider_ref == record.refund_id

    # Asked again (a retried task): WeChat Pay answers with the same refund; nothing is paid twice.
    get_provider("wechatpay", account=wechat_account).start_refund(refund=refund, notify_url="http://x/")
    assert wechatpay_fake.transactions[payment.provider_ref].refunded == 7980

    wechatpay_fake.succeed_refund(number)
    assert wechatpay_fake.notify_refund(number) == 204
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (
        refund.state == RefundState.SUCCEEDED
        and order.state == S.REFUNDED
        and order.refunded_amount == Decimal("79.80")
    )


# --- The three ways of paying --------------------------------------------------------------------------


@pytest.mark.django_db
def test_inside_wechat_jsapi_hands_the_bridge_parameters_signed_by_the_merchant(
    wechat_account, wechatpay_fake, order, client
):
    SocialAccount.objects.create(user=order.member, provider="weixin", uid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    client.force_login(order.member)
    wechat_ua = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.47"}
    detail = client.get(f"/m/orders/{order.pk}/", headers=wechat_ua)
    assert [m.key for m in detail.context["methods"]] == ["wechatpay:jsapi"]  # no Alipay, no H5 inside WeChat

    response = client.post(f"/m/orders/{order.pk}/pay/", {"method": "wechatpay:jsapi"}, headers=wechat_ua)
    payment = order.payments.get()
    assert response.status_code == 302 and response["Location"] == f"/pay/wechat/{payment.provider_ref}/"
    assert wechatpay_fake.transactions[payment.provider_ref].payer == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}

    page = client.get(response["Location"], headers=wechat_ua)
    params = page.context["jsapi"]
    assert params["appId"] == APPID and params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    merchant_public = load_pem_public_key(public_pem(keypair(f"wechatpay-merchant-{MCHID}")).encode())
    assert verify_sha256(merchant_public, message, params["paySign"])
    assert b'id="wechat-pay-params"' in page.content


@pytest.mark.django_db
def test_jsapi_is_not_offered_without_the_members_openid(wechat_account, order, client):
    client.force_login(order.member)
    detail = client.get(f"/m/orders/{order.pk}/", headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"})
    assert detail.context["methods"] == []


@pytest.mark.django_db
def test_in_a_phone_browser_h5_sends_the_member_to_wechat_and_back_to_the_order(
    wechat_account, wechatpay_fake, order, client
):
    client.force_login(order.member)
    response = client.post(
        f"/m/orders/{order.pk}/pay/",
        {"method": "wechatpay:h5"},
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"},
        REMOTE_ADDR="198.51.100.20",
    )
    location = response["Location"]
    assert location.startswith(f"{wechatpay_fake.url}/cashier/h5?prepay_id=")
    assert parse_qs(urlsplit(location).query)["redirect_url"] == [f"http://testserver/m/orders/{order.pk}/paid/"]
    assert wechatpay_fake.requests[-1].json()["scene_info"]["payer_client_ip"] == "198.51.100.20"


@pytest.mark.django_db
def test_pressing_pay_twice_registers_one_payment(wechat_account, wechatpay_fake, order):
    first, url = pay_with(order, "wechatpay:native")
    again, url_again = pay_with(order, "wechatpay:native")
    assert first.pk == again.pk and url == url_again
    assert len(wechatpay_fake.calls("/v3/pay/transactions/native")) == 1


# --- Notifications that must be refused ---------------------------------------------------------------


@pytest.fixture
def paid_at_wechat(wechat_account, wechatpay_fake, order):
    payment, _url = pay_with(order, "wechatpay:native")
    wechatpay_fake.payer_pays(payment.provider_ref)
    return payment


def _unpaid(order) -> bool:
    order.refresh_from_db()
    refs = order.payments.values_list("provider_ref", flat=True)
    return order.state == S.PENDING_PAYMENT and not ProviderNotification.objects.filter(provider_ref__in=refs).exists()


@pytest.mark.django_db
def test_a_tampered_notification_is_refused_and_logged(client, paid_at_wechat, wechatpay_fake, order, caplog):
    url, body, headers = wechatpay_fake.payment_notification(paid_at_wechat.provider_ref, tamper=True)
    with caplog.at_level(logging.WARNING, logger="shequn.payments"):
        response = _post(client, url, body, headers)
    assert response.status_code == 400 and response.json()["code"] == "FAIL"
    assert "rejected wechatpay notification" in caplog.text
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_replayed_old_notification_is_refused(client, paid_at_wechat, wechatpay_fake, order, caplog):
    url, body, headers = wechatpay_fake.payment_notification(
        paid_at_wechat.provider_ref, timestamp=int(time.time()) - 600
    )
    with caplog.at_level(logging.WARNING, logger="shequn.payments"):
        assert _post(client, url, body, headers).status_code == 400
    assert "replay" in caplog.text
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_notification_signed_by_another_key_is_refused(client, paid_at_wechat, wechatpay_fake, order):
    impostor = FakeWechatPay()
    impostor.platform_key = keypair("impostor")
    impostor.merchants, impostor.transactions = wechatpay_fake.merchants, wechatpay_fake.transactions
    url, body, headers = impostor.payment_notification(paid_at_wechat.provider_ref)
    assert _post(client, url, body, headers).status_code == 400
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_notification_encrypted_with_another_apiv3_key_is_refused(client, paid_at_wechat, wechatpay_fake, order):
    merchant = wechatpay_fake.merchants[MCHID]
    merchant.apiv3_key = "f" * 32  # WeChat Pay would never; an attacker without our key must fail the tag
    url, body, headers = wechatpay_fake.payment_notification(paid_at_wechat.provider_ref)
    assert _post(client, url, body, headers).status_code == 400
    assert _unpaid(order)


@pytest.mark.django_db
def test_a_wrong_amount_is_refused_and_logged_and_the_right_one_then_accepted(
    client, paid_at_wechat, wechatpay_fake, order, caplog
):
    url, body, headers = wechatpay_fake.payment_notification(paid_at_wechat.provider_ref, total=1)
    with caplog.at_level(logging.ERROR, logger="shequn.payments"):
        assert _post(client, url, body, headers).status_code == 400
    assert "amount/currency mismatch" in caplog.text
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT

    assert _post(client, *wechatpay_fake.payment_notification(paid_at_wechat.provider_ref)).status_code == 204
    order.refresh_from_db()
    assert order.state == S.PAID


@pytest.mark.django_db
def test_a_genuine_notification_posted_to_another_shops_account_is_refused(
    client, paid_at_wechat, wechatpay_fake, order, other_shop
):
    from tests.factories import OperatorFactory

    other_owner = OperatorFactory(shop=other_shop, role="owner").user
    other = setup_wechatpay(other_shop, other_owner, wechatpay_fake, mchid="1900000002")
    _url, body, headers = wechatpay_fake.payment_notification(paid_at_wechat.provider_ref)
    response = _post(client, f"/pay/notify/wechatpay/{other.pk}/", body, headers)
    assert response.status_code == 400  # signed for merchant 1900009191, not the other shop's
    assert _unpaid(order)


@pytest.mark.django_db
def test_an_unknown_account_is_a_404(client, paid_at_wechat, wechatpay_fake):
    _url, body, headers = wechatpay_fake.payment_notification(paid_at_wechat.provider_ref)
    assert _post(client, "/pay/notify/wechatpay/999999/", body, headers).status_code == 404


# --- Order of arrival, silence, recovery ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refund_notification_that_overtakes_the_refund_answer_settles_it_once(
    site, client, paid_at_wechat, wechatpay_fake, order, owner
):
    assert _post(client, *wechatpay_fake.payment_notification(paid_at_wechat.provider_ref)).status_code == 204
    wechatpay_fake.refund_notify_before_answer = True
    refund = refund_order(order=Order.objects.get(pk=order.pk), by=owner, reason="缺货")
    send_refunds()  # the notification reached the live server before WeChat Pay answered the request
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (
        refund.state == RefundState.SUCCEEDED
        and refund.provider_ref == wechatpay_fake.refunds[refund_number(refund)].refund_id
    )
    assert order.state == S.REFUNDED and order.refunded_amount == order.total


@pytest.mark.django_db
def test_a_payment_whose_notification_never_comes_is_recovered_by_query(paid_at_wechat, wechatpay_fake, order):
    from datetime import timedelta

    from django.utils import timezone

    from orders.reconciliation import recover_payments

    assert recover_payments() == 0  # too early: the notification is probably on its way
    assert recover_payments(now=timezone.now() + timedelta(minutes=3)) == 1
    order.refresh_from_db()
    paid_at_wechat.refresh_from_db()
    assert order.state == S.PAID and paid_at_wechat.provider_txn_id
    # The notification arriving after all changes nothing.
    assert wechatpay_fake.calls(f"/v3/pay/transactions/out-trade-no/{paid_at_wechat.provider_ref}")


@pytest.mark.django_db
def test_an_unpaid_payment_stays_open_when_queried(wechat_account, wechatpay_fake, order):
    from datetime import timedelta

    from django.utils import timezone

    from orders.reconciliation import recover_payments

    pay_with(order, "wechatpay:native")
    assert recover_payments(now=timezone.now() + timedelta(minutes=3)) == 0
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT


# --- Failures at WeChat Pay ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_hanging_gateway_times_out_into_a_clear_message(wechat_account, wechatpay_fake, order, settings):
    settings.PAYMENT_HTTP_TIMEOUT = 0.5
    wechatpay_fake.hold()
    try:
        with pytest.raises(ValidationError) as refused:
            pay_with(order, "wechatpay:native")
    finally:
        wechatpay_fake.release()
    assert "支付渠道暂时无法下单" in refused.value.messages[0]
    payment = order.payments.get()
    assert payment.state == PaymentState.CREATED and "url" not in payment.client_params
    # The member tries again once WeChat Pay answers: the same payment, now registered.
    again, url = pay_with(order, "wechatpay:native")
    assert again.pk == payment.pk and url.startswith("/pay/wechat/")


@pytest.mark.django_db
def test_provider_errors_are_reported_with_their_codes(wechat_account, wechatpay_fake, order, owner):
    from tests.fakes.base import Response

    wechatpay_fake.fail_next(Response.json({"code": "SYSTEM_ERROR", "message": "系统繁忙"}, 500))
    with pytest.raises(ValidationError):
        pay_with(order, "wechatpay:native")
    provider = get_provider("wechatpay", account=wechat_account)
    payment = order.payments.get()
    wechatpay_fake.fail_next(Response.json({"code": "SYSTEM_ERROR", "message": "系统繁忙"}, 500))
    with pytest.raises(ProviderUnavailable):
        provider.query_payment(payment=payment)
    # A refund of a payment WeChat Pay never took is refused with its code.
    refund = Refund(pk=123, order=order, payment=payment, key="x", amount=Decimal("1.00"))
    with pytest.raises(ProviderError) as refused:
        provider.start_refund(refund=refund, notify_url="http://x/")
    assert refused.value.code == "RESOURCE_NOT_EXISTS"


@pytest.mark.django_db
def test_an_answer_not_signed_by_wechat_pay_is_not_believed(wechat_account, wechatpay_fake, order):
    wechatpay_fake.platform_key = keypair("impostor")  # a man in the middle answering for WeChat Pay
    with pytest.raises(ValidationError):
        pay_with(order, "wechatpay:native")


@pytest.mark.django_db
def test_requests_not_signed_by_the_merchant_are_refused_by_the_fake(wechat_account, wechatpay_fake):
    import requests

    response = requests.post(f"{wechatpay_fake.url}/v3/pay/transactions/native", json={}, timeout=5)
    assert response.status_code == 401 and response.json()["code"] == "SIGN_ERROR"


# --- Platform certificates instead of the platform public key ----------------------------------------


@pytest.mark.django_db
def test_with_platform_certificates_they_are_downloaded_decrypted_and_used(
    shop, owner, order, client, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    fake = FakeWechatPay(certificate_mode=True).start()
    settings.WECHATPAY_API_BASE = fake.url
    try:
        account = setup_wechatpay(shop, owner, fake, public_key_mode=False)
        payment, _url = pay_with(order, "wechatpay:native")
        assert fake.calls("/v3/certificates")
        assert list((tmp_path / "wechatpay-certificates" / str(account.pk)).glob("*.pem"))
        fake.payer_pays(payment.provider_ref)
        assert _post(client, *fake.payment_notification(payment.provider_ref)).status_code == 204
        order.refresh_from_db()
        assert order.state == S.PAID
    finally:
        fake.stop()


def test_the_bill_parser_reads_the_documented_layout():
    from orders.payments.wechatpay import parse_trade_bill

    row = [
        "2024-05-01 10:00:00", "wx1", "1900009191", "0", "", "4200001", "WXA", "o1", "NATIVE", "SUCCESS", "OTHERS",
        "CNY", "10.00", "0.00", "0", "0", "0.00", "0.00", "", "", "商品", "", "0.06", "0.60%", "10.00", "0.00", "",
    ]  # fmt: skip
    totals = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    text = "\r\n".join(
        [FakeWechatPay.HEADER, ",".join("`" + v for v in row), totals, "`1,`10.00,`0.00,`0.00,`0.06,`10.00,`0.00", ""]
    )
    [line] = parse_trade_bill(text)
    assert (line.kind, line.reference, line.amount, line.provider_txn_id) == (
        "payment",
        "WXA",
        Decimal("10"),
        "4200001",
    )


# --- WeChat Pay's documented signing example -----------------------------------------------------------

# The test private key published in WeChat Pay's signing guide (签名生成 / 调起支付签名: "测试的一对公私钥").
DOC_TEST_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAptpm+qvIDCh/9wjU26SQCK26ogYkBhDrYxnAaw2JbbBsp1oD
bHKk+1r381NeBUG2HEFAuU+Fr72u5ot3yKdzoF/FajAzQNKnm569/D3upKoi8mYB
aST15Uig8j8qoUW1U217LL0jEHlSnHV3lcaDTXqDpTRR4Bfz9IqOgJgFZ8/oTfEo
mSrjrLYef81Eyxr7ZIMQXEKKEK7V4UXKS0+/fDsiG/cXidhzt8UbTL9vqXqxM2+I
DImyO+FAc/tkBG55LmzxPto1Nq0WbnZzRM/wTzrd0I/8NlevxtFbphg4evlHjFNI
7+GrqR87ViEwuAJJ9Je5QQjct5YJfFRWiZ5CMQIDAQABAoIBAGBi/GhEgezcHIg1
ltlHaFlLGuxsRbUnYwM9phVxnXk7GJlYe2/TjpERjPkIqOC6hBwwadZjJORP3FCc
Mtc8PKRhjuZ377O7vU0915x2nnyLOGL1IE2AJ3iLi0ZFzTea0FPgg+5lWHM00s9F
YI6qPcGtS41M+xtMWwZiYE3TBBRibHiY8ugGyaNAhiMKehyW05uApjlIF55wwCGx
BkyESJpGRR/6853iHke6Ge+xVcMa9QmQdoH0QqL/8kT28PL568mJJr0Ow/83t4+d
Pe70YPzKAxgUnaDsHJqO+b8qH69AEs8rTI5h2Mon6pH+bJT66KUoiXhn+Kf+4LSs
henRP10CgYEA1QJSfuFOWVRjrg3N/rAIc/Ak84BTZavbyrkqBSuoTs9i/nMI/hOz
VxpDntg7Bx2Tctl6sZO3GioTxKdc/YYaTKci1TKBbeginpsqEQVgwkMCy8HpvUmR
fyAMqLwZC4h9+j+NiZtuoFJDTCgv+WYbasX+kWYEUM21bnSYuO7yEQsCgYEAyIdP
r9uzqPgzN34Tmx+CNTa16VjhBh+zkBtXRLDLhWBeIYxoYNJARD98Pb1XZdvpkZZW
Sk7MfaKo2/DomzyyyB/MbHWwAdFi3yb4y7uMJfyC1MzdUSNN3Vp579hJxHkJ+nN4
Ys76yfcEeVOLnvUT1Z0KKCdIWRdT1Lgi+X1itzMCgYBJUXlPzwGG4fNFj97d0X23
Wmt9nSgXkOYgi0eZbAOMzPmIF9R6kBFk49dur4Lx2g5Ms+r1gKC/0sfnIqxxX11i
EQ1+UNoYGJUB/uql3TIG68XkmKR50P7RwRhaZBRC0gJ6xrFTMjsL2ATuC88niyvY
vrn3FiRaI9RVZrDCxwxvLQKBgEXW4okEAqGBuAzGqztmkOnJoTehDdYdKmOxMgap
cGiGdKJIjX3THDDoz3ONQyglnEZpTqpYoV3MTfU0BT8zt6x9bqwDnQY1D7NalmIW
cqw0Mri8lQQSQKcsQLWo5aA466G/n5kCL1Qx5OwAjesRvhOyuvvbGpZ0ymyWqQ+t
fLkDAoGATcul1L8y5D/wNVP1GXbXMZfBsFP3bbqy8c+Ashm6g8OLm2mGNntd5Z6h
1KkID7Yksh+dZ6t7XaPBtGACXX5Eryr537JVvdX8hAVCp5HVtaN/9VBVP8Ka2e4s
VS/xeNgOMQ7uzhRPBJ8HiTmdI1nHhDnYQpGiBgQn0Z5RAkSvFMk=
-----END RSA PRIVATE KEY-----"""
# The documented JSAPI order request of the same guide: its five-line sign string.
DOC_BODY = (
    '{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔",'
    '"out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php",'
    '"amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}'
)
DOC_SIGN_STRING = "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + DOC_BODY + "\n"


def test_the_sdk_signs_the_documented_example_as_the_fake_verifies_it(monkeypatch):
    """WeChat Pay's guide gives the request, timestamp, nonce and test key, and the sign string they make
    (its signature value is not printed): the SDK signs that very string, and the fake's check of the
    Authorization header rebuilds it from the request and accepts the signature."""
    import wechatpayv3.utils as sdk_utils
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from tests.fakes.base import Request

    key = load_pem_private_key(DOC_TEST_KEY.encode(), password=None)
    monkeypatch.setattr(sdk_utils.time, "time", lambda: 1554208460)
    authorization = sdk_utils.build_authorization(
        "/v3/pay/transactions/jsapi", "POST", "1900007291", "TESTSERIAL", key, data=DOC_BODY,
        nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",
    )  # fmt: skip
    signature = re.search(r'signature="([^"]+)"', authorization).group(1)
    assert verify_sha256(key.public_key(), DOC_SIGN_STRING, signature)
    assert sdk_utils.rsa_sign(key, DOC_SIGN_STRING) == signature  # deterministic: PKCS#1 v1.5

    fake = FakeWechatPay()
    fake.add_merchant(
        mchid="1900007291", appid="wxd678efh567hg6787", serial_no="TESTSERIAL", apiv3_key="0" * 32,
        public_key_pem=public_pem_of(key),
    )  # fmt: skip
    request = Request("POST", "/v3/pay/transactions/jsapi", {"Authorization": authorization}, DOC_BODY.encode())
    monkeypatch.setattr(time, "time", lambda: 1554208460)  # the fake's freshness check, at the example's time
    assert fake.verify_request(request) == fake.merchants["1900007291"]
    tampered = Request(
        "POST", "/v3/pay/transactions/jsapi", {"Authorization": authorization}, DOC_BODY.replace("100", "1").encode()
    )
    assert fake.verify_request(tampered).status == 401
    fake._server.server_close()


def public_pem_of(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
