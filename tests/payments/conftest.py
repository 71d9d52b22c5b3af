"""Real providers against their local fakes: a shop with a WeChat Pay and an Alipay merchant account set
up by its owner (through the same service as the dashboard), and the fakes on free local ports reached
through the providers' API base URL settings (the builders are in tests/builders/payments.py)."""

import uuid

import pytest

from tests.builders.orders import make_buyer, order_for
from tests.builders.payments import setup_alipay, setup_wechatpay
from tests.fakes.alipay import FakeAlipay
from tests.fakes.wechatpay import FakeWechatPay


@pytest.fixture
def wechatpay_fake(settings):
    fake = FakeWechatPay().start()
    settings.WECHATPAY_API_BASE = fake.url
    settings.PAYMENT_HTTP_TIMEOUT = 5
    yield fake
    fake.stop()


@pytest.fixture
def alipay_fake(settings):
    fake = FakeAlipay().start()
    settings.ALIPAY_GATEWAY = fake.gateway
    settings.PAYMENT_HTTP_TIMEOUT = 5
    yield fake
    fake.stop()


@pytest.fixture
def wechat_account(shop, owner, wechatpay_fake):
    return setup_wechatpay(shop, owner, wechatpay_fake)


@pytest.fixture
def alipay_account(shop, owner, alipay_fake):
    return setup_alipay(shop, owner, alipay_fake)


@pytest.fixture
def buyer_group(shop):
    from tests.factories import GroupFactory

    return GroupFactory(shop=shop)


@pytest.fixture
def sku(shop):
    from tests.factories import SkuFactory

    return SkuFactory(product__shop=shop, price="39.90", stock=50)


@pytest.fixture
def buyer(buyer_group):
    return make_buyer(buyer_group)


@pytest.fixture
def order(buyer, buyer_group, sku):
    return order_for(buyer, buyer_group, sku, quantity=2, key=uuid.uuid4().hex)


@pytest.fixture
def site(settings, live_server):
    """Providers post notifications to the public SITE_URL: here the live test server."""
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url
