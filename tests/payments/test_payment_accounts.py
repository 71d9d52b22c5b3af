"""The owner sets up the shop's merchant accounts: secrets sealed at rest, never shown back, every change
recorded with its author; staff see the state and the reconciliations, other shops see nothing."""

import pytest
from django.core.exceptions import ValidationError

from orders.models import PaymentAccount, PaymentAccountChange, ReconciliationRun, ReconciliationState
from orders.payment_accounts import save_payment_account
from shequn.sealed import unseal
from tests.builders.payments import APIV3_KEY, APPID, MCHID, SERIAL
from tests.fakes.keys import keypair, private_pem, public_pem

pytestmark = pytest.mark.django_db
URL = "/dashboard/payments/"
MERCHANT_KEY = private_pem(keypair(f"wechatpay-merchant-{MCHID}")).strip()


def _form(**overrides):
    data = {
        "is_enabled": "on",
        "app_id": APPID,
        "merchant_id": MCHID,
        "cert_serial_no": SERIAL,
        "platform_public_key_id": "PUB_KEY_ID_0114232134912410000000000000000001",
        "platform_public_key": public_pem(keypair("wechatpay-platform")),
        "private_key": MERCHANT_KEY,
        "api_v3_key": APIV3_KEY,
    }
    data.update(overrides)
    return data


def test_the_owner_sets_up_wechat_pay_and_the_secrets_are_sealed_and_never_shown(client, shop, owner):
    client.force_login(owner)
    response = client.post(f"{URL}wechatpay/", _form())
    assert response.status_code == 302
    account = PaymentAccount.objects.get(shop=shop, provider="wechatpay")
    assert account.is_enabled and account.config["merchant_id"] == MCHID
    assert "BEGIN PRIVATE KEY" not in account.sealed_secrets and APIV3_KEY not in account.sealed_secrets
    assert unseal(account.sealed_secrets) == {"private_key": MERCHANT_KEY, "api_v3_key": APIV3_KEY}
    change = PaymentAccountChange.objects.get(account=account)
    assert change.by == owner and "private_key" in change.fields and change.enabled

    for page in (client.get(URL), client.get(f"{URL}wechatpay/")):
        html = page.content.decode()
        assert page.status_code == 200
        assert APIV3_KEY not in html
        assert not any(line in html for line in MERCHANT_KEY.splitlines()[1:-1])
    assert "已加密保存" in client.get(URL).content.decode()


def test_an_empty_secret_keeps_the_stored_one_and_the_change_lists_what_changed(client, shop, owner):
    client.force_login(owner)
    client.post(f"{URL}wechatpay/", _form())
    client.post(f"{URL}wechatpay/", _form(private_key="", api_v3_key="", merchant_id="1900000002"))
    account = PaymentAccount.objects.get(shop=shop, provider="wechatpay")
    assert unseal(account.sealed_secrets)["api_v3_key"] == APIV3_KEY
    assert account.changes.first().fields == ["merchant_id"]


def test_a_secret_may_come_from_the_environment(shop, owner, monkeypatch):
    monkeypatch.setenv("SHOP_WECHATPAY_KEY", MERCHANT_KEY)
    account = save_payment_account(
        shop=shop, provider="wechatpay", enabled=True, values=_form(private_key="env:SHOP_WECHATPAY_KEY"), by=owner
    )
    assert unseal(account.sealed_secrets)["private_key"] == "env:SHOP_WECHATPAY_KEY"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"private_key": "not a key"}, "private_key"),
        ({"api_v3_key": "short"}, "api_v3_key"),
        ({"merchant_id": ""}, "merchant_id"),
        ({"private_key": "env:lower-case"}, "private_key"),
    ],
)
def test_an_account_that_cannot_work_is_not_enabled(shop, owner, overrides, field):
    with pytest.raises(ValidationError) as refused:
        save_payment_account(shop=shop, provider="wechatpay", enabled=True, values=_form(**overrides), by=owner)
    assert field in refused.value.error_dict
    assert not PaymentAccount.objects.exists()


def test_only_the_owner_changes_accounts_and_staff_of_other_shops_see_nothing(
    client, shop, owner, operator, viewer, other_shop
):
    account = save_payment_account(shop=shop, provider="wechatpay", enabled=True, values=_form(), by=owner)
    run = ReconciliationRun.objects.create(account=account, day="2024-05-01", state=ReconciliationState.BALANCED)
    for staff in (operator, viewer):
        client.force_login(staff)
        assert client.get(URL).status_code == 200
        assert client.get(f"/dashboard/payments/reconciliation/{run.pk}/").status_code == 200
        assert client.get(f"{URL}wechatpay/").status_code == 403
        assert client.post(f"{URL}wechatpay/", _form(merchant_id="1")).status_code == 403
    client.force_login(viewer)
    assert client.post(f"{URL}reconcile/", {"account": account.pk, "day": "2024-05-01"}).status_code == 403

    from tests.factories import OperatorFactory

    stranger = OperatorFactory(shop=other_shop, role="owner").user
    client.force_login(stranger)
    assert client.get(f"/dashboard/payments/reconciliation/{run.pk}/").status_code == 404
    assert client.post(f"{URL}reconcile/", {"account": account.pk, "day": "2024-05-01"}).status_code == 404
    assert MCHID not in client.get(URL).content.decode()


def test_the_payments_page_costs_the_same_queries_for_one_run_or_thirty(client, shop, owner, django_assert_num_queries):
    from datetime import date, timedelta

    account = save_payment_account(shop=shop, provider="wechatpay", enabled=True, values=_form(), by=owner)
    client.force_login(owner)

    def runs(n):
        ReconciliationRun.objects.all().delete()
        ReconciliationRun.objects.bulk_create(
            ReconciliationRun(account=account, day=date(2024, 1, 1) + timedelta(days=i), state="balanced")
            for i in range(n)
        )

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs(1)
    client.get(URL)  # warm the session and the seat
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    runs(30)
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(URL).status_code == 200
