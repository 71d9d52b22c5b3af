"""A fake of WeChat Pay API v3 (商户平台 API v3), speaking its documented protocol.

- Every request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
  signature="…",timestamp="…",serial_no="…"`, the signature being SHA256withRSA over
  "METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n" by the merchant's API key; a bad one gets
  401 SIGN_ERROR. Every answer is signed by the platform key ("TIMESTAMP\\nNONCE\\nBODY\\n") with
  Wechatpay-Timestamp/-Nonce/-Signature/-Serial headers.
- Platform key: a "微信支付公钥" with id PUB_KEY_ID_…, or a platform certificate served encrypted with the
  APIv3 key at /v3/certificates (both modes exist at WeChat Pay).
- JSAPI / H5 / Native orders, query, close, refunds (idempotent on out_refund_no; NOT_ENOUGH beyond
  the paid amount), refund query, the trade bill (gzip CSV behind a download URL with its SHA1).
- Notifications: `notify_payment` / `notify_refund` build the documented envelope, the resource
  encrypted AEAD_AES_256_GCM with the APIv3 key, and sign it; they can tamper, back-date, change the
  amount, and post (or just return the request for the test to post, duplicate or replay).
"""

import base64
import csv
import gzip
import hashlib
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_public_key

from .base import FakeServer, Request, Response
from .keys import certificate, keypair, public_pem, sign_sha256, verify_sha256

SHANGHAI_OFFSET = "+08:00"
AUTH = re.compile(r"^WECHATPAY2-SHA256-RSA2048 (.*)$")


@dataclass
class Merchant:
    mchid: str
    appid: str
    serial_no: str
    public_key_pem: str
    apiv3_key: str


@dataclass
class Transaction:
    out_trade_no: str
    mchid: str
    appid: str
    trade_type: str
    total: int
    currency: str
    notify_url: str
    description: str
    payer: dict | None = None
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    refunded: int = 0


@dataclass
class RefundRecord:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    notify_url: str
    status: str = "PROCESSING"
    success_time: str = ""
    created: str = ""
    extra: dict = field(default_factory=dict)


def now_rfc3339(at: datetime | None = None) -> str:
    at = at or datetime.now()
    return at.strftime("%Y-%m-%dT%H:%M:%S") + SHANGHAI_OFFSET


class FakeWechatPay(FakeServer):
    def __init__(self, *, certificate_mode: bool = False) -> None:
        super().__init__()
        self.platform_key = keypair("wechatpay-platform")
        self.public_key_id = "PUB_KEY_ID_0114232134912410000000000000000001"
        self.certificate_mode = certificate_mode
        self.certificate = certificate(self.platform_key, serial=0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1)
        self.merchants: dict[str, Merchant] = {}
        self.transactions: dict[str, Transaction] = {}
        self.refunds: dict[str, RefundRecord] = {}
        self.bills: dict[str, bytes] = {}
        self.sent_notifications: list[tuple[str, bytes, dict, int]] = []
        self.refund_notify_before_answer = False  # out of order: the notification overtakes the answer
        self._state_lock = threading.Lock()

    # --- Set-up ----------------------------------------------------------------------------------

    def add_merchant(self, *, mchid: str, appid: str, serial_no: str, public_key_pem: str, apiv3_key: str) -> Merchant:
        merchant = Merchant(mchid, appid, serial_no, public_key_pem, apiv3_key)
        self.merchants[mchid] = merchant
        return merchant

    @property
    def platform_public_key_pem(self) -> str:
        return public_pem(self.platform_key)

    @property
    def platform_serial(self) -> str:
        return format(self.certificate.serial_number, "X") if self.certificate_mode else self.public_key_id

    # --- The signed protocol ---------------------------------------------------------------------

    def verify_request(self, request: Request) -> Merchant | Response:
        match = AUTH.match(request.headers.get("Authorization", ""))
        if not match:
            return self._error(401, "SIGN_ERROR", "缺少或无法识别的 Authorization")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        merchant = self.merchants.get(fields.get("mchid", ""))
        if merchant is None or fields.get("serial_no") != merchant.serial_no:
            return self._error(401, "SIGN_ERROR", "商户号或证书序列号不匹配")
        try:
            skew = abs(time.time() - int(fields.get("timestamp", "0")))
        except ValueError:
            skew = 1e9
        if skew > 300:
            return self._error(401, "SIGN_ERROR", "请求时间戳过期")
        message = (
            f"{request.method}\n{request.path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{request.body.decode()}\n"
        )
        if not verify_sha256(
            load_pem_public_key(merchant.public_key_pem.encode()), message, fields.get("signature", "")
        ):
            return self._error(401, "SIGN_ERROR", "签名错误")
        return merchant

    def signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict:
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16).upper()
        return {
            "Wechatpay-Timestamp": str(timestamp),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign_sha256(self.platform_key, f"{timestamp}\n{nonce}\n{body.decode()}\n"),
            "Wechatpay-Serial": self.platform_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Request-ID": secrets.token_hex(8),
        }

    def _answer(self, data: dict | None, status: int = 200) -> Response:
        body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        return Response(status, body, {**headers, **self.signed_headers(body)})

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._answer({"code": code, "message": message}, status)

    @staticmethod
    def encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict:
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    # --- Routes ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        merchant = self.verify_request(request)
        if isinstance(merchant, Response):
            return merchant
        route = request.route
        if route == "/v3/certificates" and request.method == "GET":
            return self._certificates(merchant)
        if route.startswith("/v3/pay/transactions/") and request.method == "POST" and route.count("/") == 4:
            return self._create(merchant, route.rsplit("/", 1)[1], request.json())
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", route):
            return self._query(merchant, match.group(1))
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", route):
            return self._close(merchant, match.group(1))
        if route == "/v3/refund/domestic/refunds" and request.method == "POST":
            return self._refund(merchant, request.json())
        if match := re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", route):
            record = self.refunds.get(match.group(1))
            if record is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return self._answer(self._refund_json(record, query=True))
        if route == "/v3/bill/tradebill":
            return self._trade_bill(merchant, request.query)
        if route == "/v3/billdownload/file":
            bill = self.bills.get(request.query.get("token", ""))
            if bill is None:
                return self._error(404, "NO_STATEMENT_EXIST", "账单文件不存在")
            return Response(200, bill, {"Content-Type": "application/octet-stream"})
        return self._error(404, "NOT_FOUND", f"no route {route}")

    def _certificates(self, merchant: Merchant) -> Response:
        cert_pem = self.certificate.public_bytes(Encoding.PEM).decode()
        return self._answer(
            {
                "data": [
                    {
                        "serial_no": format(self.certificate.serial_number, "X"),
                        "effective_time": now_rfc3339(),
                        "expire_time": now_rfc3339(datetime(datetime.now().year + 1, 1, 1)),
                        "encrypt_certificate": self.encrypt(merchant.apiv3_key, cert_pem, "certificate"),
                    }
                ]
            }
        )

    def _create(self, merchant: Merchant, trade_type: str, data: dict) -> Response:
        trade_type = trade_type.upper()
        if trade_type not in ("JSAPI", "H5", "NATIVE"):
            return self._error(404, "NOT_FOUND", trade_type)
        if data.get("mchid") != merchant.mchid or data.get("appid") != merchant.appid:
            return self._error(400, "PARAM_ERROR", "appid 和 mch_id 不匹配")
        amount = data.get("amount") or {}
        if not isinstance(amount.get("total"), int) or amount["total"] <= 0:
            return self._error(400, "PARAM_ERROR", "amount.total 必须是正整数（分）")
        if not data.get("notify_url", "").startswith(("http://", "https://")):
            return self._error(400, "PARAM_ERROR", "notify_url 格式错误")
        if trade_type == "JSAPI" and not (data.get("payer") or {}).get("openid"):
            return self._error(400, "PARAM_ERROR", "JSAPI 下单需要 payer.openid")
        if trade_type == "H5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            return self._error(400, "PARAM_ERROR", "H5 下单需要 scene_info.payer_client_ip")
        number = data.get("out_trade_no", "")
        with self._state_lock:
            existing = self.transactions.get(number)
            if existing and existing.state == "SUCCESS":
                return self._error(400, "ORDERPAID", "该订单已支付")
            if existing and (existing.total != amount["total"] or existing.trade_type != trade_type):
                return self._error(400, "INVALID_REQUEST", "201 商户订单号重复")
            self.transactions[number] = existing or Transaction(
                out_trade_no=number,
                mchid=merchant.mchid,
                appid=merchant.appid,
                trade_type=trade_type,
                total=amount["total"],
                currency=amount.get("currency", "CNY"),
                notify_url=data["notify_url"],
                description=data.get("description", ""),
                payer=data.get("payer"),
            )
        prepay = "wx" + secrets.token_hex(15)
        if trade_type == "JSAPI":
            return self._answer({"prepay_id": prepay})
        if trade_type == "H5":
            return self._answer({"h5_url": f"{self.url}/cashier/h5?prepay_id={prepay}&package=1"})
        return self._answer({"code_url": f"weixin://wxpay/bizpayurl?pr={prepay[:10]}"})

    def _transaction_json(self, t: Transaction) -> dict:
        data = {
            "appid": t.appid,
            "mchid": t.mchid,
            "out_trade_no": t.out_trade_no,
            "trade_type": t.trade_type,
            "trade_state": t.state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(t.state, t.state),
            "amount": {"total": t.total, "payer_total": t.total, "currency": t.currency, "payer_currency": "CNY"},
        }
        if t.transaction_id:
            data.update(transaction_id=t.transaction_id, success_time=t.success_time, bank_type="OTHERS")
        if t.payer:
            data["payer"] = t.payer
        return data

    def _query(self, merchant: Merchant, number: str) -> Response:
        t = self.transactions.get(number)
        if t is None or t.mchid != merchant.mchid:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(self._transaction_json(t))

    def _close(self, merchant: Merchant, number: str) -> Response:
        t = self.transactions.get(number)
        if t is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        if t.state == "SUCCESS":
            return self._error(400, "ORDERPAID", "订单已支付，不能关单")
        t.state = "CLOSED"
        return self._answer(None, 204)

    def _refund(self, merchant: Merchant, data: dict) -> Response:
        number = data.get("out_refund_no", "")
        if not re.fullmatch(r"[0-9A-Za-z_\-|*@]{1,64}", number):
            return self._error(400, "PARAM_ERROR", "out_refund_no 格式错误")
        with self._state_lock:
            if number in self.refunds:  # the same refund asked again: the same answer, no second payout
                return self._answer(self._refund_json(self.refunds[number]))
            t = self.transactions.get(data.get("out_trade_no", ""))
            if t is None or t.mchid != merchant.mchid or t.state not in ("SUCCESS", "REFUND"):
                return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
            amount = data.get("amount") or {}
            if amount.get("total") != t.total:
                return self._error(400, "PARAM_ERROR", "订单金额 total 与原订单不一致")
            if amount.get("refund", 0) <= 0 or t.refunded + amount["refund"] > t.total:
                return self._error(403, "NOT_ENOUGH", "订单可退金额不足")
            t.refunded += amount["refund"]
            record = RefundRecord(
                out_refund_no=number,
                refund_id="50" + secrets.token_hex(14),
                out_trade_no=t.out_trade_no,
                transaction_id=t.transaction_id,
                refund=amount["refund"],
                total=t.total,
                notify_url=data.get("notify_url", ""),
                created=now_rfc3339(),
            )
            self.refunds[number] = record
        if self.refund_notify_before_answer:
            self.succeed_refund(number)
            self.notify_refund(number)
        return self._answer(self._refund_json(record))

    def _refund_json(self, r: RefundRecord, query: bool = False) -> dict:
        data = {
            "refund_id": r.refund_id,
            "out_refund_no": r.out_refund_no,
            "transaction_id": r.transaction_id,
            "out_trade_no": r.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "status": r.status,
            "create_time": r.created,
            "amount": {
                "total": r.total,
                "refund": r.refund,
                "payer_total": r.total,
                "payer_refund": r.refund,
                "currency": "CNY",
            },
        }
        if r.success_time:
            data["success_time"] = r.success_time
        return data

    def _trade_bill(self, merchant: Merchant, query: dict) -> Response:
        try:
            day = date.fromisoformat(query.get("bill_date", ""))
        except ValueError:
            return self._error(400, "PARAM_ERROR", "bill_date 格式错误")
        text = self.bill_text(merchant.mchid, day)
        token = secrets.token_hex(8)
        self.bills[token] = gzip.compress(text.encode()) if query.get("tar_type") == "GZIP" else text.encode()
        return self._answer(
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(text.encode()).hexdigest(),
                "download_url": f"{self.url}/v3/billdownload/file?token={token}",
            }
        )

    # --- What happens at WeChat Pay (driven by the tests) -----------------------------------------

    def payer_pays(self, out_trade_no: str, *, at: datetime | None = None) -> Transaction:
        t = self.transactions[out_trade_no]
        t.state = "SUCCESS"
        t.transaction_id = t.transaction_id or "42" + secrets.token_hex(13)
        t.success_time = now_rfc3339(at)
        return t

    def succeed_refund(self, out_refund_no: str, *, at: datetime | None = None) -> RefundRecord:
        r = self.refunds[out_refund_no]
        r.status = "SUCCESS"
        r.success_time = now_rfc3339(at)
        t = self.transactions[r.out_trade_no]
        t.state = "REFUND"
        return r

    def notification(
        self,
        *,
        event_type: str,
        resource_type: str,
        resource: dict,
        apiv3_key: str,
        timestamp: int | None = None,
        tamper: bool = False,
        notification_id: str | None = None,
    ) -> tuple[bytes, dict]:
        envelope = {
            "id": notification_id or secrets.token_hex(18),
            "create_time": now_rfc3339(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功" if event_type.startswith("TRANSACTION") else "退款成功",
            "resource": {
                **self.encrypt(apiv3_key, json.dumps(resource, ensure_ascii=False), resource_type),
                "original_type": resource_type,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = self.signed_headers(body, timestamp=timestamp)
        headers["Content-Type"] = "application/json"
        if tamper:  # changed after signing: e.g. someone rewriting the envelope in flight
            body = body.replace(b'"summary": "', b'"summary": "X', 1)
        return body, headers

    def payment_notification(
        self, out_trade_no: str, *, total: int | None = None, **options
    ) -> tuple[str, bytes, dict]:
        t = self.transactions[out_trade_no]
        resource = self._transaction_json(t)
        if total is not None:
            resource["amount"] = {**resource["amount"], "total": total, "payer_total": total}
        merchant = self.merchants[t.mchid]
        body, headers = self.notification(
            event_type="TRANSACTION.SUCCESS",
            resource_type="transaction",
            resource=resource,
            apiv3_key=merchant.apiv3_key,
            **options,
        )
        return t.notify_url, body, headers

    def refund_notification(self, out_refund_no: str, **options) -> tuple[str, bytes, dict]:
        r = self.refunds[out_refund_no]
        t = self.transactions[r.out_trade_no]
        resource = {
            "mchid": t.mchid,
            "out_trade_no": r.out_trade_no,
            "transaction_id": r.transaction_id,
            "out_refund_no": r.out_refund_no,
            "refund_id": r.refund_id,
            "refund_status": r.status,
            "success_time": r.success_time,
            "user_received_account": "支付用户零钱",
            "amount": {"total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund},
        }
        event = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL", "CLOSED": "REFUND.CLOSED"}.get(
            r.status, "REFUND.SUCCESS"
        )
        merchant = self.merchants[t.mchid]
        body, headers = self.notification(
            event_type=event, resource_type="refund", resource=resource, apiv3_key=merchant.apiv3_key, **options
        )
        return r.notify_url, body, headers

    def post(self, url: str, body: bytes, headers: dict) -> int:
        status = requests.post(url, data=body, headers=headers, timeout=30).status_code
        self.sent_notifications.append((url, body, headers, status))
        return status

    def notify_payment(self, out_trade_no: str, **options) -> int:
        return self.post(*self.payment_notification(out_trade_no, **options))

    def notify_refund(self, out_refund_no: str, **options) -> int:
        return self.post(*self.refund_notification(out_refund_no, **options))

    # --- The bill ---------------------------------------------------------------------------------

    HEADER = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
        "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
        "手续费,费率,订单金额,申请退款金额,费率备注"
    )

    def bill_text(self, mchid: str, day: date) -> str:
        """The ALL trade bill of `day`: payments by success time, refunds by refund success time."""
        out = io.StringIO()
        out.write(self.HEADER + "\r\n")
        writer = csv.writer(out, lineterminator="\r\n")
        paid = refunded = count = 0
        for t in self.transactions.values():
            if t.mchid != mchid or not t.success_time.startswith(day.isoformat()):
                continue
            yuan = f"{t.total / 100:.2f}"
            writer.writerow(
                [
                    "`" + v
                    for v in [
                        t.success_time[:19].replace("T", " "),
                        t.appid,
                        t.mchid,
                        "0",
                        "",
                        t.transaction_id,
                        t.out_trade_no,
                        (t.payer or {}).get("openid", ""),
                        t.trade_type,
                        "SUCCESS",
                        "OTHERS",
                        "CNY",
                        yuan,
                        "0.00",
                        "0",
                        "0",
                        "0.00",
                        "0.00",
                        "",
                        "",
                        t.description,
                        "",
                        f"{t.total * 0.006 / 100:.2f}",
                        "0.60%",
                        yuan,
                        "0.00",
                        "",
                    ]
                ]
            )
            paid += t.total
            count += 1
        for r in self.refunds.values():
            t = self.transactions[r.out_trade_no]
            if t.mchid != mchid or r.status != "SUCCESS" or not r.success_time.startswith(day.isoformat()):
                continue
            yuan = f"{r.refund / 100:.2f}"
            writer.writerow(
                [
                    "`" + v
                    for v in [
                        r.success_time[:19].replace("T", " "),
                        t.appid,
                        t.mchid,
                        "0",
                        "",
                        t.transaction_id,
                        t.out_trade_no,
                        (t.payer or {}).get("openid", ""),
                        t.trade_type,
                        "REFUND",
                        "OTHERS",
                        "CNY",
                        "0.00",
                        "0.00",
                        r.refund_id,
                        r.out_refund_no,
                        yuan,
                        "0.00",
                        "ORIGINAL",
                        "SUCCESS",
                        t.description,
                        "",
                        "0.00",
                        "0.60%",
                        f"{t.total / 100:.2f}",
                        yuan,
                        "",
                    ]
                ]
            )
            refunded += r.refund
            count += 1
        out.write("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
        out.write(
            f"`{count},`{paid / 100:.2f},`{refunded / 100:.2f},`0.00,`0.00,`{paid / 100:.2f},`{refunded / 100:.2f}\r\n"
        )
        return out.getvalue()
