"""A fake of Alipay's open platform gateway (openapi.alipay.com/gateway.do), speaking its documented protocol.

- A request is the gateway URL with the common parameters (app_id, method, charset, sign_type RSA2,
  timestamp, version, biz_content…) and `sign`: SHA256withRSA by the app's private key over the
  parameters except `sign`, sorted, joined as k=v with '&' (values not URL-encoded). A bad signature
  gets `error_response` 40002 isv.invalid-signature.
- A synchronous answer is `{"<method>_response": {…}, "sign": "…"}`, the sign by Alipay's key over the
  exact JSON text of the response object. Business errors: code 40004 with ACQ.* sub-codes.
- alipay.trade.wap.pay / page.pay: the member's browser opens the signed URL; this fake's cashier page
  has a "pay" button; paying sends the asynchronous notification (a form POST signed over the fields
  except sign and sign_type) to notify_url and returns the member to return_url.
- query, refund (idempotent on out_request_no; fund_change "N" the second time), refund query, close,
  and the trade bill (a zip holding a GBK CSV) behind alipay.data.dataservice.bill.downloadurl.query.
"""

import csv
import io
import json
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html import escape
from urllib.parse import parse_qsl, urlencode

import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .base import FakeServer, Request, Response
from .keys import keypair, public_pem, sign_sha256, verify_sha256


@dataclass
class Trade:
    out_trade_no: str
    app_id: str
    total_amount: Decimal
    subject: str
    notify_url: str
    return_url: str
    product_code: str
    status: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    gmt_payment: str = ""
    refunds: dict = field(default_factory=dict)  # out_request_no -> (amount, at)


def sign_content(params: dict, *, exclude=("sign",)) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude and v not in (None, ""))


class FakeAlipay(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.alipay_key = keypair("alipay-platform")
        self.apps: dict[str, str] = {}  # app_id -> app public key PEM
        self.trades: dict[str, Trade] = {}
        self.bills: dict[str, bytes] = {}
        self.sent_notifications: list[tuple[str, bytes, int]] = []
        self._state_lock = threading.Lock()

    @property
    def gateway(self) -> str:
        return f"{self.url}/gateway.do"

    @property
    def alipay_public_key_pem(self) -> str:
        return public_pem(self.alipay_key)

    def add_app(self, app_id: str, app_public_key_pem: str) -> None:
        self.apps[app_id] = app_public_key_pem

    # --- The signed protocol ---------------------------------------------------------------------

    def verify_request(self, params: dict) -> bool:
        key = self.apps.get(params.get("app_id", ""))
        if key is None or params.get("sign_type") != "RSA2":
            return False
        return verify_sha256(load_pem_public_key(key.encode()), sign_content(params), params.get("sign", ""))

    def _answer(self, method: str, result: dict) -> Response:
        name = method.replace(".", "_") + "_response"
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        body = '{"' + name + '":' + text + ',"sign":"' + sign_sha256(self.alipay_key, text) + '"}'
        return Response.text(body, content_type="text/html;charset=utf-8")

    def _failed(self, method: str, sub_code: str, sub_msg: str) -> Response:
        return self._answer(
            method, {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}
        )

    # --- Routes ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.route == "/cashier/pay" and request.method == "POST":
            return self._cashier_pay(dict(parse_qsl(request.body.decode())))
        if request.route.startswith("/bill/"):
            bill = self.bills.get(request.route.rsplit("/", 1)[1])
            return Response(200, bill, {"Content-Type": "application/zip"}) if bill else Response.text("no", 404)
        if request.route != "/gateway.do":
            return Response.text("not found", 404)
        params = request.query
        if request.method == "POST" and request.body:
            params.update(dict(parse_qsl(request.body.decode())))
        method = params.get("method", "")
        if not self.verify_request(params):
            body = {
                "error_response": {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                }
            }
            return Response.text(json.dumps(body, ensure_ascii=False), content_type="text/html;charset=utf-8")
        biz = json.loads(params.get("biz_content") or "{}")
        handler = {
            "alipay.trade.wap.pay": self._cashier,
            "alipay.trade.page.pay": self._cashier,
            "alipay.trade.query": self._query,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.trade.close": self._close,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }.get(method)
        if handler is None:
            return self._failed(method, "isv.invalid-method", "不存在的方法名")
        return handler(method, params, biz)

    def _cashier(self, method: str, params: dict, biz: dict) -> Response:
        number = biz.get("out_trade_no", "")
        try:
            amount = Decimal(biz.get("total_amount", ""))
        except Exception:
            amount = Decimal("0")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            return Response.text("total_amount invalid", 400)
        with self._state_lock:
            trade = self.trades.get(number)
            if trade is None:
                trade = self.trades[number] = Trade(
                    out_trade_no=number,
                    app_id=params["app_id"],
                    total_amount=amount,
                    subject=biz.get("subject", ""),
                    notify_url=params.get("notify_url", ""),
                    return_url=params.get("return_url", ""),
                    product_code=biz.get("product_code", ""),
                )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>支付宝收银台（测试）</title></head><body>"
            f"<h1>支付宝</h1><p class='subject'>{escape(trade.subject)}</p>"
            f"<p class='amount'>¥{trade.total_amount}</p>"
            "<form method='post' action='/cashier/pay'>"
            f"<input type='hidden' name='out_trade_no' value='{escape(number)}'>"
            "<button type='submit' id='alipay-confirm'>确认付款</button></form></body></html>"
        )
        return Response.text(page, content_type="text/html; charset=utf-8")

    def _cashier_pay(self, form: dict) -> Response:
        trade = self.trades.get(form.get("out_trade_no", ""))
        if trade is None:
            return Response.text("unknown trade", 404)
        self.buyer_pays(trade.out_trade_no)
        self.notify_payment(trade.out_trade_no)
        back = dict(
            out_trade_no=trade.out_trade_no,
            trade_no=trade.trade_no,
            total_amount=str(trade.total_amount),
            app_id=trade.app_id,
        )
        back["sign"] = sign_sha256(self.alipay_key, sign_content(back))
        back["sign_type"] = "RSA2"
        return Response(302, b"", {"Location": f"{trade.return_url}?{urlencode(back)}"})

    def _trade_json(self, trade: Trade) -> dict:
        data = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": str(trade.total_amount),
            "buyer_logon_id": "159****5620",
        }
        if trade.trade_no:
            data.update(
                trade_no=trade.trade_no, send_pay_date=trade.gmt_payment, receipt_amount=str(trade.total_amount)
            )
        return data

    def _query(self, method: str, params: dict, biz: dict) -> Response:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade.app_id != params["app_id"]:
            return self._failed(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        return self._answer(method, self._trade_json(trade))

    def _close(self, method: str, params: dict, biz: dict) -> Response:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return self._failed(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != "WAIT_BUYER_PAY":
            return self._failed(method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return self._answer(method, {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no})

    def _refund(self, method: str, params: dict, biz: dict) -> Response:
        with self._state_lock:
            trade = self.trades.get(biz.get("out_trade_no", ""))
            if trade is None or trade.app_id != params["app_id"]:
                return self._failed(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
            if trade.status not in ("TRADE_SUCCESS", "TRADE_CLOSED") or not trade.trade_no:
                return self._failed(method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            number = biz.get("out_request_no") or trade.out_trade_no
            amount = Decimal(str(biz.get("refund_amount", "0")))
            already = number in trade.refunds
            if not already:
                refunded = sum((a for a, _at in trade.refunds.values()), Decimal("0"))
                if amount <= 0 or refunded + amount > trade.total_amount:
                    return self._failed(method, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
                trade.refunds[number] = (amount, datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
                if refunded + amount == trade.total_amount:
                    trade.status = "TRADE_CLOSED"
            total_refunded = sum((a for a, _at in trade.refunds.values()), Decimal("0"))
        return self._answer(
            method,
            {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": "159****5620",
                "fund_change": "N" if already else "Y",
                "refund_fee": str(total_refunded),
            },
        )

    def _refund_query(self, method: str, params: dict, biz: dict) -> Response:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return self._failed(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        number = biz.get("out_request_no", "")
        result = {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}
        if number in trade.refunds:
            amount, at = trade.refunds[number]
            result.update(
                out_request_no=number,
                refund_amount=str(amount),
                total_amount=str(trade.total_amount),
                refund_status="REFUND_SUCCESS",
                gmt_refund_pay=at,
            )
        return self._answer(method, result)

    def _bill_url(self, method: str, params: dict, biz: dict) -> Response:
        try:
            day = date.fromisoformat(biz.get("bill_date", ""))
        except ValueError:
            return self._failed(method, "isv.invalid-bill-date", "账单日期格式不正确")
        token = secrets.token_hex(8)
        self.bills[token] = self.bill_zip(params["app_id"], day)
        return self._answer(
            method, {"code": "10000", "msg": "Success", "bill_download_url": f"{self.url}/bill/{token}"}
        )

    # --- What happens at Alipay (driven by the tests or the cashier page) --------------------------

    def buyer_pays(self, out_trade_no: str, *, at: datetime | None = None) -> Trade:
        trade = self.trades[out_trade_no]
        trade.status = "TRADE_SUCCESS"
        trade.trade_no = trade.trade_no or datetime.now().strftime("%Y%m%d") + "2200" + secrets.token_hex(8)[:14]
        trade.gmt_payment = (at or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
        return trade

    def payment_notification(
        self,
        out_trade_no: str,
        *,
        total_amount: str | None = None,
        tamper: bool = False,
        notify_id: str | None = None,
        status: str | None = None,
        app_id: str | None = None,
    ) -> tuple[str, bytes]:
        trade = self.trades[out_trade_no]
        fields = {
            "notify_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": notify_id or secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": app_id or trade.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": status or trade.status,
            "total_amount": total_amount or str(trade.total_amount),
            "receipt_amount": str(trade.total_amount),
            "buyer_pay_amount": str(trade.total_amount),
            "subject": trade.subject,
            "gmt_create": trade.gmt_payment,
            "gmt_payment": trade.gmt_payment,
            "seller_id": "2088101117955611",
        }
        fields["sign"] = sign_sha256(self.alipay_key, sign_content(fields, exclude=("sign", "sign_type")))
        fields["sign_type"] = "RSA2"
        if tamper:
            fields["total_amount"] = str(Decimal(fields["total_amount"]) + 1)
        return trade.notify_url, urlencode(fields).encode()

    def post(self, url: str, body: bytes) -> tuple[int, str]:
        response = requests.post(
            url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, timeout=30
        )
        self.sent_notifications.append((url, body, response.status_code))
        return response.status_code, response.text

    def notify_payment(self, out_trade_no: str, **options) -> tuple[int, str]:
        return self.post(*self.payment_notification(out_trade_no, **options))

    # --- The bill ---------------------------------------------------------------------------------

    HEADER = [
        "支付宝交易号",
        "商户订单号",
        "业务类型",
        "商品名称",
        "创建时间",
        "完成时间",
        "门店编号",
        "门店名称",
        "操作员",
        "终端号",
        "对方账户",
        "订单金额（元）",
        "商家实收（元）",
        "支付宝红包（元）",
        "集分宝（元）",
        "支付宝优惠（元）",
        "商家优惠（元）",
        "券核销金额（元）",
        "券名称",
        "商家红包消费金额（元）",
        "卡消费金额（元）",
        "退款批次号/请求号",
        "服务费（元）",
        "分润（元）",
        "备注",
    ]

    def bill_zip(self, app_id: str, day: date) -> bytes:
        out = io.StringIO()
        out.write("#支付宝业务明细查询\r\n#账号：[20881234567890120156]\r\n")
        out.write(f"#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\r\n")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.HEADER)
        prefix = day.isoformat()
        for trade in self.trades.values():
            if trade.app_id != app_id or not trade.trade_no:
                continue
            if trade.gmt_payment.startswith(prefix):
                amount = str(trade.total_amount)
                writer.writerow(
                    [
                        trade.trade_no,
                        trade.out_trade_no,
                        "交易",
                        trade.subject,
                        trade.gmt_payment,
                        trade.gmt_payment,
                        "",
                        "",
                        "",
                        "",
                        "159****5620",
                        amount,
                        amount,
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "",
                        "0.00",
                        "0.00",
                        "",
                        "-0.06",
                        "0.00",
                        "",
                    ]
                )
            for number, (amount, at) in trade.refunds.items():
                if at.startswith(prefix):
                    writer.writerow(
                        [
                            trade.trade_no,
                            trade.out_trade_no,
                            "退款",
                            trade.subject,
                            at,
                            at,
                            "",
                            "",
                            "",
                            "",
                            "159****5620",
                            f"-{amount}",
                            f"-{amount}",
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "",
                            "0.00",
                            "0.00",
                            number,
                            "0.00",
                            "0.00",
                            "",
                        ]
                    )
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"20881234567890120156_{day:%Y%m%d}_业务明细.csv", out.getvalue().encode("gbk"))
            archive.writestr(f"20881234567890120156_{day:%Y%m%d}_业务明细(汇总).csv", "#汇总\r\n".encode("gbk"))
        return buffer.getvalue()
