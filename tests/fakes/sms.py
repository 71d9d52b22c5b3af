"""Fakes of the two SMS providers' SendSms, speaking their documented protocols.

Aliyun Dysms (2017-05-25), V3 signature ("ACS3-HMAC-SHA256"): the canonical request is
METHOD\\nPATH\\nCANONICAL_QUERY\\nCANONICAL_HEADERS\\nSIGNED_HEADERS\\nHASHED_PAYLOAD, the string to sign
"ACS3-HMAC-SHA256\\n" + hex(sha256(canonical request)), the signature hex(HMAC-SHA256(secret, it)).

Tencent Cloud SMS (2021-01-11), "TC3-HMAC-SHA256": canonical request
POST\\n/\\n\\ncontent-type:…\\nhost:…\\n\\ncontent-type;host\\nhex(sha256(payload)); string to sign
"TC3-HMAC-SHA256\\nTIMESTAMP\\nDATE/sms/tc3_request\\nhex(sha256(canonical request))"; the key derived
by HMAC-SHA256 from "TC3" + secret over date, service and "tc3_request".

Both check the signature, the registered signature name (签名) and template with its variables, the
number, and apply the providers' per-number flow control; each accepted message is kept rendered as
the member would read it: 【签名】text.
"""

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from .base import FakeServer, Request, Response


@dataclass
class Sent:
    phone: str
    sign_name: str
    template: str
    params: dict | list
    text: str
    client_ref: str


def _render(template: str, values) -> str:
    if isinstance(values, dict):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(values.get(m.group(1), "")), template)
    return re.sub(r"\{(\d+)\}", lambda m: str(values[int(m.group(1)) - 1]), template)


# --- Aliyun --------------------------------------------------------------------------------------------


def acs3_canonical_query(query: dict) -> str:
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))


def acs3_signature(
    *, secret: str, method: str, path: str, query: dict, headers: dict, signed: list[str], payload_hash: str
) -> str:
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(
        [method, path or "/", acs3_canonical_query(query), canonical_headers, ";".join(signed), payload_hash]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyunSms(FakeServer):
    def __init__(self, *, access_key_id: str, access_key_secret: str) -> None:
        super().__init__()
        self.keys = {access_key_id: access_key_secret}
        self.sign_names: set[str] = set()
        self.templates: dict[str, str] = {}  # code -> content with ${var}
        self.sent: list[Sent] = []
        self._last_sent_at: dict[str, float] = {}

    def handle(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        match = re.match(
            r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=(\w+)",
            headers.get("authorization", ""),
        )
        if not match:
            return Response.json({"Code": "MissingAuthorization", "Message": "missing Authorization"}, 400)
        key_id, signed, given = match.group(1), match.group(2).split(";"), match.group(3)
        if key_id not in self.keys:
            return Response.json(
                {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}, 404
            )
        if any(name not in headers for name in signed) or not {"host", "x-acs-action", "x-acs-date"} <= set(signed):
            return Response.json({"Code": "IncompleteSignature", "Message": "signed headers incomplete"}, 400)
        if hashlib.sha256(request.body).hexdigest() != headers.get("x-acs-content-sha256"):
            return Response.json({"Code": "InvalidPayload", "Message": "x-acs-content-sha256 mismatch"}, 400)
        expected = acs3_signature(
            secret=self.keys[key_id], method=request.method, path=request.route, query=request.query, headers=headers,
            signed=signed, payload_hash=headers["x-acs-content-sha256"],
        )  # fmt: skip
        if not hmac.compare_digest(expected, given):
            return Response.json(
                {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}, 400
            )
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return Response.json({"Code": "InvalidAction.NotFound", "Message": "action not found"}, 404)
        return self._send(request.query)

    def _answer(self, code: str, message: str = "OK", **extra) -> Response:
        return Response.json({"Code": code, "Message": message, "RequestId": secrets.token_hex(8).upper(), **extra})

    def _send(self, q: dict) -> Response:
        phone = q.get("PhoneNumbers", "")
        if not re.fullmatch(r"1[3-9]\d{9}", phone):
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if q.get("SignName") not in self.sign_names:
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(q.get("TemplateCode", ""))
        if template is None:
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(q.get("TemplateParam") or "{}")
        except ValueError:
            return self._answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        wanted = set(re.findall(r"\$\{(\w+)\}", template))
        if set(values) != wanted:
            return self._answer("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        now = time.monotonic()
        if now - self._last_sent_at.get(phone, -1e9) < 60 and "code" in wanted:  # one code a minute per number
            return self._answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        self._last_sent_at[phone] = now
        text = f"【{q['SignName']}】{_render(template, values)}"
        self.sent.append(Sent(phone, q["SignName"], q["TemplateCode"], values, text, q.get("OutId", "")))
        return self._answer("OK", "OK", BizId=f"{secrets.randbelow(10**15):015d}^0")


# --- Tencent Cloud ---------------------------------------------------------------------------------------


def tc3_signature(*, secret_key: str, timestamp: int, service: str, canonical_request: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical_request.encode()).hexdigest()

    def mac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_canonical_request(*, content_type: str, host: str, payload: bytes) -> str:
    return (
        f"POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n"
        + hashlib.sha256(payload).hexdigest()
    )


class FakeTencentSms(FakeServer):
    def __init__(self, *, secret_id: str, secret_key: str, sdk_app_id: str) -> None:
        super().__init__()
        self.secrets = {secret_id: secret_key}
        self.sdk_app_id = sdk_app_id
        self.sign_names: set[str] = set()
        self.templates: dict[str, str] = {}  # id -> content with {1}, {2}…
        self.sent: list[Sent] = []
        self._last_sent_at: dict[str, float] = {}

    @staticmethod
    def _json(data: dict) -> Response:
        # Exactly "application/json", as Tencent Cloud answers (its SDK reads errors only then).
        return Response.json(data, headers={"Content-Type": "application/json"})

    def _error(self, code: str, message: str) -> Response:
        return self._json(
            {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": secrets.token_hex(8)}}
        )

    def handle(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        match = re.match(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/([\d-]+)/(\w+)/tc3_request, SignedHeaders=([\w;-]+), Signature=(\w+)",
            headers.get("authorization", ""),
        )
        if not match:
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        secret_id, _date, service, signed, given = match.groups()
        if secret_id not in self.secrets:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        canonical = tc3_canonical_request(
            content_type=headers.get("content-type", ""), host=headers.get("host", ""), payload=request.body
        )
        expected = tc3_signature(
            secret_key=self.secrets[secret_id], timestamp=timestamp, service=service, canonical_request=canonical
        )
        if signed != "content-type;host" or not hmac.compare_digest(expected, given):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return self._error("InvalidAction", "action not found")
        return self._send(json.loads(request.body or b"{}"))

    def _send(self, data: dict) -> Response:
        if data.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("FailedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败")
        statuses = []
        template = self.templates.get(str(data.get("TemplateId", "")))
        for phone in data.get("PhoneNumberSet", []):
            status = {
                "SerialNo": "",
                "PhoneNumber": phone,
                "Fee": 0,
                "SessionContext": data.get("SessionContext", ""),
                "IsoCode": "CN",
            }
            if not re.fullmatch(r"\+861[3-9]\d{9}", phone):
                status.update(Code="InvalidParameterValue.IncorrectPhoneNumber", Message="手机号格式错误")
            elif data.get("SignName") not in self.sign_names:
                status.update(Code="FailedOperation.SignatureIncorrectOrUnapproved", Message="签名未审批或格式错误")
            elif template is None:
                status.update(Code="FailedOperation.TemplateIncorrectOrUnapproved", Message="模板未审批或内容不匹配")
            elif len(data.get("TemplateParamSet") or []) != len(re.findall(r"\{\d+\}", template)):
                status.update(Code="FailedOperation.TemplateParamSetNotMatchApprovedTemplate", Message="参数个数不匹配")
            elif time.monotonic() - self._last_sent_at.get(phone, -1e9) < 30:
                status.update(
                    Code="LimitExceeded.PhoneNumberThirtySecondLimit",
                    Message="单个手机号30秒内下发短信条数超过设定的上限",
                )
            else:
                self._last_sent_at[phone] = time.monotonic()
                values = data.get("TemplateParamSet") or []
                text = f"【{data['SignName']}】{_render(template, values)}"
                self.sent.append(
                    Sent(phone, data["SignName"], str(data["TemplateId"]), values, text, data.get("SessionContext", ""))
                )
                status.update(Code="Ok", Message="send success", Fee=1, SerialNo=f"2028:{secrets.randbelow(10**19)}")
            statuses.append(status)
        return self._json({"Response": {"SendStatusSet": statuses, "RequestId": secrets.token_hex(8)}})
