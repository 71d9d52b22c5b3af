"""Real providers' merchant accounts set up by a shop's owner (through the same service as the dashboard)
against the local fakes (tests/fakes), and payments and refunds started the way the product starts them."""

from orders.models import Payment, Refund
from orders.payment_accounts import save_payment_account
from orders.services import send_refund_to_provider, start_payment
from tests.fakes.alipay import FakeAlipay
from tests.fakes.keys import bare_base64, keypair, private_pem, public_pem
from tests.fakes.wechatpay import FakeWechatPay

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
SERIAL = "3775B6A45ACD588826D15E583A95F5DD28B1D0A1"
APIV3_KEY = "a12d3924fd499edac8a5efc0a1b2c3d4"
ALIPAY_APP_ID = "2021000117600000"


def setup_wechatpay(shop, owner, fake: FakeWechatPay, *, public_key_mode: bool = True, mchid: str = MCHID):
    merchant_key = keypair(f"wechatpay-merchant-{mchid}")
    fake.add_merchant(
        mchid=mchid, appid=APPID, serial_no=SERIAL, public_key_pem=public_pem(merchant_key), apiv3_key=APIV3_KEY
    )
    values = {
        "app_id": APPID,
        "merchant_id": mchid,
        "cert_serial_no": SERIAL,
        "private_key": private_pem(merchant_key),
        "api_v3_key": APIV3_KEY,
    }
    if public_key_mode:
        values.update(platform_public_key_id=fake.public_key_id, platform_public_key=fake.platform_public_key_pem)
    return save_payment_account(shop=shop, provider="wechatpay", enabled=True, values=values, by=owner)


def setup_alipay(shop, owner, fake: FakeAlipay, *, app_id: str = ALIPAY_APP_ID):
    app_key = keypair(f"alipay-app-{app_id}")
    fake.add_app(app_id, public_pem(app_key))
    values = {
        "app_id": app_id,
        # As the Alipay console shows them: bare base64, no PEM lines.
        "alipay_public_key": bare_base64(fake.alipay_public_key_pem),
        "app_private_key": bare_base64(private_pem(app_key)),
    }
    return save_payment_account(shop=shop, provider="alipay", enabled=True, values=values, by=owner)


def pay_with(order, method: str, *, client: str = "desktop", openid: str = "", client_ip: str = "203.0.113.9"):
    payment, url = start_payment(order=order, method=method, client=client, openid=openid, client_ip=client_ip)
    payment.refresh_from_db()
    return payment, url


def send_refunds():
    """What the worker does with each new refund (its Celery task), here in the test's thread."""
    for refund in Refund.objects.filter(provider_ref="").order_by("pk"):
        send_refund_to_provider(refund.pk)


def payment_of(order) -> Payment:
    return order.payments.order_by("-pk").first()
