"""Alipay through the `python-alipay-sdk` SDK: mobile web pay (wap) and desktop page pay, RSA2-verified
asynchronous notifications, refunds, queries and the daily trade bill.

- Every request is signed RSA2 (SHA256withRSA) with the app's private key; every synchronous answer's
  signature is verified by the SDK against the Alipay public key of the account.
- A notification is a form POST signed by Alipay: verified with the same key, and it must name this
  account's app id. Its `notify_id` makes it once. Alipay sends refund-related notices too, but with the
  cumulative refunded amount; a refund's own outcome is read from the refund query instead (right after
  the refund request and by the recovery job), and those notices are only acknowledged.
- The SDK hard-codes the production gateway; settings.ALIPAY_GATEWAY (default that same gateway)
  replaces it, which is how the tests reach their local fake.
"""

import csv
import io
import json
import logging
import re
import secrets
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.error import URLError
from urllib.parse import parse_qsl

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequn.sealed import SealError, resolve, unseal

from .base import (
    BillLine,
    CredentialField,
    IgnoredNotification,
    InvalidNotification,
    Notification,
    PaymentProvider,
    PaymentStart,
    ProviderError,
    ProviderUnavailable,
    refund_number,
)

logger = logging.getLogger("shequn.payments")
SUCCESS = "10000"


def pem(key: str, kind: str) -> str:
    """Owners paste keys as the Alipay console shows them (bare base64); the SDK wants PEM."""
    key = key.strip()
    if key.startswith("-----BEGIN"):
        return key
    body = "\n".join(key[i : i + 64] for i in range(0, len(key), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


class _AliPay(AliPay):
    def __init__(self, *, gateway: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._gateway = gateway  # the SDK picks production or sandbox by a flag; configuration decides


class AlipayProvider(PaymentProvider):
    name = "alipay"
    label = _("支付宝")
    channels = ("wap", "page")
    credential_fields = (
        CredentialField("app_id", _("应用 APPID")),
        CredentialField("alipay_public_key", _("支付宝公钥"), multiline=True),
        CredentialField("app_private_key", _("应用私钥"), secret=True, multiline=True),
    )

    def _client(self) -> AliPay:
        if self.account is None:
            raise ProviderError("Alipay needs a merchant account")
        try:
            secret = {name: resolve(value) for name, value in unseal(self.account.sealed_secrets).items()}
        except SealError as exc:
            raise ProviderError(f"merchant secrets unavailable: {exc}") from exc
        config = self.account.config
        try:
            return _AliPay(
                gateway=settings.ALIPAY_GATEWAY,
                appid=config["app_id"],
                app_private_key_string=pem(secret["app_private_key"], "PRIVATE KEY"),
                alipay_public_key_string=pem(config["alipay_public_key"], "PUBLIC KEY"),
                sign_type="RSA2",
                config=AliPayConfig(timeout=settings.PAYMENT_HTTP_TIMEOUT),
            )
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise ProviderError(f"Alipay keys unusable: {exc}") from exc

    def _call(self, what: str, fn, **kwargs) -> dict:
        """One verified synchronous call; its response, or a ProviderError with Alipay's codes."""
        try:
            response = fn(**kwargs)
        except AliPayValidationError as exc:
            raise ProviderUnavailable(f"{what}: the answer's signature does not verify") from exc
        except AliPayException as exc:
            code, sub_code = self._codes(exc)
            error = ProviderUnavailable if code in ("20000", "20001") else ProviderError
            raise error(f"{what}: {code} {sub_code}", code=sub_code or code) from exc
        except (URLError, TimeoutError, OSError) as exc:
            raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
        code = str(response.get("code", ""))
        if code != SUCCESS:
            sub_code = str(response.get("sub_code", ""))
            error = ProviderUnavailable if code in ("20000", "20001") else ProviderError
            raise error(f"{what}: {code} {sub_code} {response.get('sub_msg', '')}".strip(), code=sub_code or code)
        return response

    @staticmethod
    def _codes(exc: AliPayException) -> tuple[str, str]:
        """Alipay's code and sub-code from the SDK's exception (it keeps them private: read its text,
        "AliPayException: code:40002, message:{…the answer…}")."""
        text = str(exc)
        code = re.search(r"code:(\w+)", text)
        try:
            body = json.loads(text.split("message:", 1)[1])
            result = next(value for key, value in body.items() if key.endswith("_response"))
            return str(result.get("code", "")), str(result.get("sub_code", ""))
        except (IndexError, ValueError, StopIteration, AttributeError, TypeError):
            return (code.group(1) if code else ""), ""

    # --- Paying ------------------------------------------------------------------------------------

    def new_reference(self) -> str:
        return "AP" + secrets.token_hex(12).upper()

    def start_payment(self, *, payment, notify_url: str) -> PaymentStart:
        order = payment.order
        client = self._client()
        back = settings.SITE_URL + reverse("orders:after_payment", args=[order.pk])
        common = {
            "subject": f"{order.shop.name} {order.number}"[:256],
            "out_trade_no": payment.provider_ref,
            "total_amount": str(payment.amount),
            "return_url": back,
            "notify_url": notify_url,
            "time_expire": timezone.localtime(order.pay_deadline).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if payment.channel == "wap":
            query = client.api_alipay_trade_wap_pay(quit_url=back, **common)
        elif payment.channel == "page":
            query = client.api_alipay_trade_page_pay(**common)
        else:
            raise ProviderError(f"unknown Alipay channel {payment.channel!r}")
        return PaymentStart(url=f"{settings.ALIPAY_GATEWAY}?{query}")

    def close_payment(self, *, payment) -> None:
        try:
            self._call("close", self._client().api_alipay_trade_close, out_trade_no=payment.provider_ref)
        except ProviderError as exc:
            logger.info("closing Alipay payment %s: %s", payment.provider_ref, exc)

    def query_payment(self, *, payment) -> Notification | None:
        try:
            data = self._call("query", self._client().api_alipay_trade_query, out_trade_no=payment.provider_ref)
        except ProviderError as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                return None  # the member never opened the cashier
            raise
        status = data.get("trade_status")
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return self._payment_notification(data, notification_id=f"query:{data.get('trade_no', '')}", succeeded=True)
        if status == "TRADE_CLOSED" and not data.get("send_pay_date"):
            return self._payment_notification(
                data, notification_id=f"query:closed:{payment.provider_ref}", succeeded=False
            )
        return None

    # --- Refunds -----------------------------------------------------------------------------------

    def start_refund(self, *, refund, notify_url: str) -> str:
        data = self._call(
            "refund",
            self._client().api_alipay_trade_refund,
            refund_amount=str(refund.amount),
            out_trade_no=refund.payment.provider_ref,
            out_request_no=refund_number(refund),
            refund_reason=(refund.reason or "")[:256],
        )
        return str(data.get("trade_no", ""))

    def query_refund(self, *, refund) -> Notification | None:
        data = self._call(
            "refund query",
            self._client().api_alipay_trade_fastpay_refund_query,
            out_request_no=refund_number(refund),
            out_trade_no=refund.payment.provider_ref,
        )
        status = data.get("refund_status")
        if status != "REFUND_SUCCESS" or not data.get("refund_amount"):
            return None  # not refunded (yet): Alipay answers without a status while it is not
        try:
            amount = Decimal(data["refund_amount"])
        except InvalidOperation as exc:
            raise ProviderError(f"malformed refund amount {data['refund_amount']!r}") from exc
        return Notification(
            provider=self.name,
            notification_id=f"query:refund:{refund_number(refund)}",
            kind="refund",
            provider_ref=refund.key,
            succeeded=True,
            amount=amount,
            currency="CNY",
            raw=dict(data),
            provider_txn_id=str(data.get("trade_no", "")),
        )

    # --- Notifications -----------------------------------------------------------------------------

    def parse_notification(self, *, body: bytes, headers: dict) -> Notification:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("gbk", errors="replace")
        data = dict(parse_qsl(text, keep_blank_values=True))
        signature = data.pop("sign", "")
        if not signature:
            raise InvalidNotification("unsigned notification")
        client = self._client()
        try:
            verified = client.verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError) as exc:
            raise InvalidNotification(f"unverifiable notification: {exc}") from exc
        if not verified:
            raise InvalidNotification("bad signature")
        if data.get("app_id") != self.account.config.get("app_id"):
            raise InvalidNotification(f"notification for app {data.get('app_id')!r}, not this account's")
        notification_id = data.get("notify_id", "")
        if not notification_id:
            raise InvalidNotification("notification without notify_id")
        if data.get("out_biz_no") or data.get("refund_fee") or data.get("gmt_refund"):
            raise IgnoredNotification("refund notice (refunds are confirmed by query)")
        status = data.get("trade_status")
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return self._payment_notification(data, notification_id=notification_id, succeeded=True)
        if status == "TRADE_CLOSED":
            return self._payment_notification(data, notification_id=notification_id, succeeded=False)
        raise IgnoredNotification(f"trade status {status}")

    def _payment_notification(self, data: dict, *, notification_id: str, succeeded: bool) -> Notification:
        try:
            amount = Decimal(str(data["total_amount"]))
        except (KeyError, InvalidOperation) as exc:
            raise InvalidNotification(f"malformed amount {data.get('total_amount')!r}") from exc
        return Notification(
            provider=self.name,
            notification_id=notification_id[:64],
            kind="payment",
            provider_ref=str(data.get("out_trade_no", "")),
            succeeded=succeeded,
            amount=amount,
            currency="CNY",
            raw=dict(data),
            provider_txn_id=str(data.get("trade_no", "")),
        )

    def acknowledge(self, *, accepted: bool, message: str = "") -> HttpResponse:
        # Alipay stops resending only when the body is exactly "success".
        return HttpResponse("success" if accepted else "fail", content_type="text/plain")

    # --- The daily bill ----------------------------------------------------------------------------

    def fetch_bill(self, *, day: date) -> list[BillLine]:
        client = self._client()
        data = self._call(
            "bill url",
            client.server_api,
            api_name="alipay.data.dataservice.bill.downloadurl.query",
            biz_content={"bill_type": "trade", "bill_date": day.isoformat()},
        )
        try:
            response = requests.get(data["bill_download_url"], timeout=settings.PAYMENT_HTTP_TIMEOUT)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"bill download: {exc}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"bill download: HTTP {response.status_code}")
        return parse_trade_bill(response.content)


def parse_trade_bill(content: bytes) -> list[BillLine]:
    """The trade bill: a zip holding a GBK CSV of the day's business details (业务明细), comment lines
    starting with '#', one row per payment (业务类型 交易) or refund (退款, negative amount)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ProviderError(f"bill is not a zip: {exc}") from exc
    names = [name for name in archive.namelist() if name.endswith(".csv") and "汇总" not in name]
    if not names:
        raise ProviderError("bill zip holds no detail CSV")
    text = archive.read(names[0]).decode("gbk")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    lines = []
    for row in rows[1:]:
        record = dict(zip(header, (value.strip() for value in row), strict=False))
        kind = record.get("业务类型")
        try:
            amount = Decimal(record["订单金额（元）"])
        except (KeyError, InvalidOperation) as exc:
            raise ProviderError(f"unreadable bill row: {exc}") from exc
        if kind == "交易":
            lines.append(BillLine("payment", record["商户订单号"], amount, record.get("支付宝交易号", "")))
        elif kind == "退款":
            lines.append(BillLine("refund", record["退款批次号/请求号"], -amount, record.get("支付宝交易号", "")))
    return lines
