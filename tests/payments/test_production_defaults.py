"""Production never takes "payments" on the simulated cashier unless a demo says so explicitly."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from orders.models import SimulatedCharge
from orders.payments.simulated import SIGNATURE_HEADER, sign
from orders.services import start_payment

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(tmp_path, **extra) -> tuple[int, str]:
    # Production settings, as tests/test_deploy.py runs the checklist: nothing the test run relaxes.
    relaxed = {"PAYMENT_PROVIDER", "ALLOW_SIMULATED_PAYMENTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        k: v for k, v in os.environ.items() if k not in relaxed and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))
    }
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="example.com", DATA_DIR=str(tmp_path))
    env.update(extra)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_fails_with_the_simulated_provider_and_no_allow_flag(tmp_path):
    code, output = _check_deploy(tmp_path, PAYMENT_PROVIDER="simulated")
    assert code != 0 and "orders.E001" in output, output
    code, output = _check_deploy(tmp_path, PAYMENT_PROVIDER="simulated", ALLOW_SIMULATED_PAYMENTS="1")
    assert "orders.E001" not in output, output
    code, output = _check_deploy(tmp_path)  # production's default: no simulated provider at all
    assert "orders.E001" not in output and not re.search(r"\(\S+\.E\d{3}\)", output), output
    assert code == 0, output


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALLOW_SIMULATED_PAYMENTS = False
    return settings


@pytest.mark.django_db
def test_without_the_flag_the_simulated_cashier_cannot_be_used(production, order, client):
    production.DEFAULT_PAYMENT_PROVIDER = "simulated"  # misconfigured, and the check was ignored
    with pytest.raises(ValidationError, match="本店暂未开通在线支付"):
        start_payment(order=order)

    # Even a simulated charge made earlier (say, before the flag was removed) cannot be settled or notified.
    production.ALLOW_SIMULATED_PAYMENTS = True
    payment, url = start_payment(order=order)
    production.ALLOW_SIMULATED_PAYMENTS = False
    client.force_login(order.member)
    assert client.post(url, {"outcome": "success"}).status_code == 404
    body = json.dumps(
        {"id": "N1", "kind": "payment", "reference": payment.provider_ref, "status": "succeeded",
         "amount": str(payment.amount), "currency": "CNY"}
    )  # fmt: skip
    response = client.generic(
        "POST",
        "/pay/notify/simulated/",
        body.encode(),
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body)},
    )
    assert response.status_code == 400
    order.refresh_from_db()
    assert (
        order.state == "pending_payment"
        and SimulatedCharge.objects.get(reference=payment.provider_ref).state == "created"
    )


@pytest.mark.django_db
def test_a_shop_without_a_merchant_account_says_so(production, order, client):
    production.DEFAULT_PAYMENT_PROVIDER = ""
    client.force_login(order.member)
    page = client.get(f"/m/orders/{order.pk}/").content.decode()
    assert "本店暂未开通在线支付" in page
    response = client.post(f"/m/orders/{order.pk}/pay/", follow=True)
    assert "本店暂未开通在线支付" in response.content.decode()


def test_compose_posts_callbacks_to_the_public_site_and_never_from_the_worker_to_itself():
    import yaml

    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-env"]
    assert env["SITE_URL"].startswith("${SITE_URL")  # providers post to the public address
    assert env["INTERNAL_CALLBACK_URL"] == "http://web:8000"  # the worker's own callbacks go to web
    assert env["ALLOWED_HOSTS"].endswith(",web")
    assert env["PAYMENT_PROVIDER"] == "${PAYMENT_PROVIDER:-}" and env["ALLOW_SIMULATED_PAYMENTS"].endswith(":-0}")


def test_only_the_simulated_provider_uses_the_internal_callback_address(settings):
    from orders.models import PaymentAccount
    from orders.services import notify_url

    settings.SITE_URL, settings.INTERNAL_CALLBACK_URL = "https://shop.example.com", "http://web:8000"
    assert notify_url("simulated") == "http://web:8000/pay/notify/simulated/"
    assert notify_url("wechatpay", PaymentAccount(pk=7)) == "https://shop.example.com/pay/notify/wechatpay/7/"
