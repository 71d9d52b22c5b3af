"""WeChat Pay API v3 through the `wechatpayv3` SDK: JSAPI (inside WeChat), H5 (other phone browsers),
Native (a QR code for desktops), refunds, queries, the daily trade bill.

- Requests are signed by the SDK with the merchant's API private key (`Authorization:
  WECHATPAY2-SHA256-RSA2048 …`); every answer's signature is verified against the platform public key
  (`平台公钥`, when the account has one) or the platform certificates the SDK downloads and decrypts.
- Notifications are verified the same way, must be fresh (timestamp within NOTIFICATION_MAX_AGE: a
  replayed old one is refused), are decrypted (AEAD_AES_256_GCM with the APIv3 key), and must name this
  account's merchant number and app id.
- The SDK hard-codes the production gateway; settings.WECHATPAY_API_BASE (default that same gateway)
  replaces it, which is how the tests reach their local fake.
"""

import csv
import gzip
import hashlib
import io
import json
import logging
import secrets
import time
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core

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
    from_fen,
    refund_number,
    refund_pk_from_number,
    to_fen,
)

logger = logging.getLogger("shequn.payments")

# WeChat Pay signs each notification with its send time; an older one is a replay (its docs ask
# merchants to check the timestamp).
NOTIFICATION_MAX_AGE = 300
PAY_TYPES = {"jsapi": WeChatPayType.JSAPI, "h5": WeChatPayType.H5, "native": WeChatPayType.NATIVE}


class _Core(Core):
    """The SDK's core with the gateway from configuration (it assigns a constant in __init__ and uses it
    before __init__ returns, to download platform certificates)."""

    gateway = "https://api.mch.weixin.qq.com"

    @property
    def _gate_way(self) -> str:
        return self.gateway

    @_gate_way.setter
    def _gate_way(self, value: str) -> None:
        pass  # the SDK's hard-coded default; configuration decides


class _WeChatPay(WeChatPay):
    """WeChatPay with the configurable core (the SDK builds its Core inside __init__)."""

    def __init__(self, *, gateway: str, pay_type, mchid, appid, core_kwargs: dict) -> None:
        core_class = type("ConfiguredCore", (_Core,), {"gateway": gateway.rstrip("/")})
        self._type = pay_type
        self._mchid = mchid
        self._appid = appid
        self._notify_url = None
        self._partner_mode = False
        self._core = core_class(mchid=mchid, **core_kwargs)


class WechatPayProvider(PaymentProvider):
    name = "wechatpay"
    label = _("微信支付")
    channels = ("jsapi", "h5", "native")
    credential_fields = (
        CredentialField("app_id", _("AppID（公众号/小程序）")),
        CredentialField("merchant_id", _("商户号")),
        CredentialField("cert_serial_no", _("商户 API 证书序列号")),
        CredentialField(
            "platform_public_key_id",
            _("微信支付公钥 ID"),
            required=False,
            help_text=_("使用“微信支付公钥”验签时填写（PUB_KEY_ID_ 开头）；留空则自动下载平台证书。"),
        ),
        CredentialField("platform_public_key", _("微信支付公钥（PEM）"), multiline=True, required=False),
        CredentialField("private_key", _("商户 API 私钥（apiclient_key.pem）"), secret=True, multiline=True),
        CredentialField("api_v3_key", _("APIv3 密钥"), secret=True),
    )

    # --- The SDK client for this merchant account -------------------------------------------------

    def _credentials(self) -> dict:
        if self.account is None:
            raise ProviderError("WeChat Pay needs a merchant account")
        try:
            secret = {name: resolve(value) for name, value in unseal(self.account.sealed_secrets).items()}
        except SealError as exc:
            raise ProviderError(f"merchant secrets unavailable: {exc}") from exc
        credentials = {**self.account.config, **secret}
        # An account saved before it was complete is refused here, as a provider error the caller shows.
        missing = [f.name for f in self.credential_fields if f.required and not credentials.get(f.name)]
        if missing:
            raise ProviderError(f"merchant account incomplete: {', '.join(missing)}")
        return credentials

    def _client(self, pay_type=WeChatPayType.NATIVE) -> WeChatPay:
        c = self._credentials()
        public_key = c.get("platform_public_key") or None
        core_kwargs = {
            "cert_serial_no": c["cert_serial_no"],
            "private_key": c["private_key"],
            "apiv3_key": c["api_v3_key"],
            "timeout": settings.PAYMENT_HTTP_TIMEOUT,
            "logger": logger,
        }
        if public_key:
            core_kwargs.update(public_key=public_key, public_key_id=c.get("platform_public_key_id") or None)
        else:
            cert_dir = Path(settings.DATA_DIR) / "wechatpay-certificates" / str(self.account.pk)
            core_kwargs["cert_dir"] = str(cert_dir)
        try:
            return _WeChatPay(
                gateway=settings.WECHATPAY_API_BASE,
                pay_type=pay_type,
                mchid=c["merchant_id"],
                appid=c["app_id"],
                core_kwargs=core_kwargs,
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"WeChat Pay unreachable: {exc}") from exc
        except Exception as exc:  # the SDK raises bare Exceptions for keys and certificates
            raise ProviderError(f"WeChat Pay client: {exc}") from exc

    def _call(self, what: str, fn, *args, **kwargs) -> dict:
        """One SDK call; a 2xx answer (its signature verified by the SDK) as a dict, or a ProviderError."""
        try:
            status, text = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # "failed to verify the signature", a missing platform certificate…
            raise ProviderUnavailable(f"{what}: {exc}") from exc
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {"message": text[:200]}
        if 200 <= status < 300:
            return data
        message = f"{what}: HTTP {status} {data.get('code', '')} {data.get('message', '')}".strip()
        if status >= 500 or data.get("code") in ("SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANKERROR"):
            raise ProviderUnavailable(message, code=data.get("code", ""))
        raise ProviderError(message, code=data.get("code", ""))

    # --- Paying ------------------------------------------------------------------------------------

    def new_reference(self) -> str:
        # out_trade_no: 6–32 characters of [0-9A-Za-z_-|*]
        return "WX" + secrets.token_hex(12).upper()

    def start_payment(self, *, payment, notify_url: str) -> PaymentStart:
        from django.urls import reverse

        channel = payment.channel
        if channel not in PAY_TYPES:
            raise ProviderError(f"unknown WeChat Pay channel {channel!r}")
        order = payment.order
        client = self._client(PAY_TYPES[channel])
        payer = None
        scene_info = None
        if channel == "jsapi":
            openid = payment.client_params.get("openid", "")
            if not openid:
                raise ProviderError("JSAPI payment needs the member's openid (WeChat sign-in)")
            payer = {"openid": openid}
        elif channel == "h5":
            scene_info = {
                "payer_client_ip": payment.client_params.get("client_ip") or "127.0.0.1",
                "h5_info": {"type": "Wap"},
            }
        data = self._call(
            "create payment",
            client.pay,
            description=f"{order.shop.name} {order.number}"[:127],
            out_trade_no=payment.provider_ref,
            amount={"total": to_fen(payment.amount), "currency": payment.currency},
            payer=payer,
            scene_info=scene_info,
            time_expire=timezone.localtime(order.pay_deadline).isoformat(timespec="seconds"),
            notify_url=notify_url,
            pay_type=PAY_TYPES[channel],
        )
        pay_page = reverse("orders:provider_pay", args=[payment.provider_ref])
        if channel == "jsapi":
            prepay_id = data["prepay_id"]
            params = {
                "appId": client._appid,
                "timeStamp": str(int(time.time())),
                "nonceStr": secrets.token_hex(16).upper(),
                "package": f"prepay_id={prepay_id}",
                "signType": "RSA",
            }
            params["paySign"] = client.sign(
                [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
            )
            return PaymentStart(url=pay_page, client_params={"jsapi": params})
        if channel == "native":
            return PaymentStart(url=pay_page, client_params={"code_url": data["code_url"]})
        # H5: WeChat sends the member back to redirect_url after paying (the result still comes by notification).
        back = settings.SITE_URL + reverse("orders:after_payment", args=[order.pk])
        return PaymentStart(url=f"{data['h5_url']}&redirect_url={quote(back, safe='')}", client_params={})

    def close_payment(self, *, payment) -> None:
        try:
            self._call("close payment", self._client().close, out_trade_no=payment.provider_ref)
        except ProviderError as exc:
            logger.info("closing WeChat Pay payment %s: %s", payment.provider_ref, exc)

    def query_payment(self, *, payment) -> Notification | None:
        try:
            data = self._call("query payment", self._client().query, out_trade_no=payment.provider_ref)
        except ProviderError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        state = data.get("trade_state")
        if state in ("SUCCESS", "REFUND"):
            return self._payment_notification(data, notification_id=f"query:{data.get('transaction_id', '')}")
        if state in ("CLOSED", "REVOKED", "PAYERROR"):
            return self._payment_notification(data, notification_id=f"query:{state}:{payment.provider_ref}")
        return None  # NOTPAY, USERPAYING: not decided yet

    # --- Refunds -----------------------------------------------------------------------------------

    def start_refund(self, *, refund, notify_url: str) -> str:
        payment = refund.payment
        data = self._call(
            "refund",
            self._client().refund,
            out_refund_no=refund_number(refund),
            amount={"refund": to_fen(refund.amount), "total": to_fen(payment.amount), "currency": payment.currency},
            out_trade_no=payment.provider_ref,
            reason=(refund.reason or "")[:80] or None,
            notify_url=notify_url,
        )
        return data.get("refund_id", "")

    def query_refund(self, *, refund) -> Notification | None:
        try:
            data = self._call("query refund", self._client().query_refund, out_refund_no=refund_number(refund))
        except ProviderError as exc:
            if exc.code == "RESOURCE_NOT_EXISTS":
                return None
            raise
        if data.get("status") in ("SUCCESS", "CLOSED", "ABNORMAL"):
            return self._refund_notification(data, notification_id=f"query:{data.get('refund_id', '')}")
        return None

    # --- Notifications -----------------------------------------------------------------------------

    def parse_notification(self, *, body: bytes, headers: dict) -> Notification:
        try:
            sent_at = int(headers.get("Wechatpay-Timestamp", ""))
        except ValueError:
            raise InvalidNotification("missing or malformed Wechatpay-Timestamp") from None
        if abs(time.time() - sent_at) > NOTIFICATION_MAX_AGE:
            raise InvalidNotification(f"stale notification (signed at {sent_at}): refused as a replay")
        try:
            client = self._client()
            data = client.callback(headers=headers, body=body)
        except ProviderError as exc:
            raise InvalidNotification(str(exc)) from exc
        except Exception as exc:  # a serial it cannot parse, a tag that fails, JSON that is not
            raise InvalidNotification(f"unverifiable notification: {type(exc).__name__}: {exc}") from exc
        if not data:
            raise InvalidNotification("bad signature or undecryptable resource")
        event = data.get("event_type", "")
        resource = data.get("resource") or {}
        notification_id = str(data.get("id", ""))
        if not notification_id:
            raise InvalidNotification("notification without id")
        if event.startswith("TRANSACTION."):
            if resource.get("trade_state") != "SUCCESS":
                raise IgnoredNotification(f"{event} {resource.get('trade_state')}")
            return self._payment_notification(resource, notification_id=notification_id)
        if event.startswith("REFUND."):
            return self._refund_notification(resource, notification_id=notification_id)
        raise IgnoredNotification(f"event {event}")

    def _check_merchant(self, resource: dict) -> None:
        config = self.account.config
        mchid = resource.get("mchid") or resource.get("sp_mchid")
        if mchid != config.get("merchant_id"):
            raise InvalidNotification(f"notification for merchant {mchid!r}, not this account's")
        appid = resource.get("appid")
        if appid is not None and appid != config.get("app_id"):
            raise InvalidNotification(f"notification for app {appid!r}, not this account's")

    def _payment_notification(self, resource: dict, *, notification_id: str) -> Notification:
        self._check_merchant(resource)
        amount = resource.get("amount") or {}
        try:
            total = from_fen(int(amount["total"]))  # the order's amount (payer_total is after coupons)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification(f"malformed amount: {amount!r}") from exc
        return Notification(
            provider=self.name,
            notification_id=notification_id[:64],
            kind="payment",
            provider_ref=str(resource.get("out_trade_no", "")),
            succeeded=resource.get("trade_state") in ("SUCCESS", "REFUND"),
            amount=total,
            currency=amount.get("currency", "CNY"),
            raw=resource,
            provider_txn_id=str(resource.get("transaction_id", "")),
        )

    def _refund_notification(self, resource: dict, *, notification_id: str) -> Notification:
        from ..models import Refund

        if resource.get("mchid") is not None:
            self._check_merchant({**resource, "appid": None})
        number = str(resource.get("out_refund_no", ""))
        pk = refund_pk_from_number(number)
        refund = Refund.objects.filter(pk=pk).only("key").first() if pk else None
        if refund is None:
            raise InvalidNotification(f"unknown refund number {number!r}")
        amount = resource.get("amount") or {}
        status = resource.get("refund_status") or resource.get("status")
        try:
            refunded = from_fen(int(amount["refund"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification(f"malformed refund amount: {amount!r}") from exc
        return Notification(
            provider=self.name,
            notification_id=notification_id[:64],
            kind="refund",
            provider_ref=refund.key,
            succeeded=status == "SUCCESS",
            amount=refunded,
            currency=amount.get("currency", "CNY"),
            raw=resource,
            provider_txn_id=str(resource.get("refund_id", "")),
        )

    def acknowledge(self, *, accepted: bool, message: str = ""):
        from django.http import HttpResponse, JsonResponse

        if accepted:
            return HttpResponse(status=204)
        # Any answer but 2xx makes WeChat Pay send the notification again later.
        return JsonResponse({"code": "FAIL", "message": message or "refused"}, status=400)

    # --- The daily trade bill ---------------------------------------------------------------------

    def fetch_bill(self, *, day: date) -> list[BillLine]:
        client = self._client()
        data = self._call("trade bill", client.trade_bill, bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        try:
            status, content = client.download_bill(data["download_url"])
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"bill download: {exc}") from exc
        if status != 200 or not isinstance(content, bytes | str):
            raise ProviderUnavailable(f"bill download: HTTP {status}")
        raw = content if isinstance(content, bytes) else content.encode()
        try:
            bill = gzip.decompress(raw)
        except OSError as exc:
            raise ProviderError(f"bill is not gzip: {exc}") from exc
        # The announced digest is of the original (decompressed) bill.
        expected = (data.get("hash_value") or "").lower()
        if data.get("hash_type", "SHA1") == "SHA1" and hashlib.sha1(bill).hexdigest() != expected:  # noqa: S324
            raise ProviderUnavailable("bill download: SHA1 does not match the announced digest")
        return parse_trade_bill(bill.decode("utf-8-sig"))


def parse_trade_bill(text: str) -> list[BillLine]:
    """The ALL trade bill: a header row, one row per payment (交易状态 SUCCESS) or refund (REFUND) with
    every field prefixed by a backtick, then the totals. Amounts in yuan."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    lines = []
    for row in rows[1:]:
        values = [value.strip().lstrip("`") for value in row]
        if len(values) != len(header):
            break  # the totals block
        record = dict(zip(header, values, strict=True))
        try:
            if record["交易状态"] == "SUCCESS":
                lines.append(
                    BillLine(
                        kind="payment",
                        reference=record["商户订单号"],
                        amount=Decimal(record["订单金额"]),
                        provider_txn_id=record["微信订单号"],
                    )
                )
            elif record["交易状态"] == "REFUND":
                lines.append(
                    BillLine(
                        kind="refund",
                        reference=record["商户退款单号"],
                        amount=Decimal(record["申请退款金额"]),
                        provider_txn_id=record["微信退款单号"],
                    )
                )
        except (KeyError, InvalidOperation) as exc:
            raise ProviderError(f"unreadable bill row: {exc}") from exc
    return lines
