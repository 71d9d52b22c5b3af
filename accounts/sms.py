"""SMS: sign-in codes and members' notifications, through a pluggable backend (settings.SMS_BACKEND).

- Chinese SMS providers send only pre-approved templates under a registered signature (签名): a message
  names its `kind` ("verification_code", or a notification kind such as "order_shipped"), whose template
  id and variable order come from settings.SMS_TEMPLATES (a kind without its own falls back to
  "notification"), and its signature (the shop's, else settings.SMS_SIGN_NAME).
- Backends: Aliyun (Dysms, `alibabacloud-dysmsapi20170525`) and Tencent Cloud SMS
  (`tencentcloud-sdk-python-sms`), each reaching the endpoint of its settings; the log and in-memory
  ones for development and tests. A backend raises SmsError (`permanent` when retrying cannot help).
- Limits: `send_sms` counts every send per number, for sign-in codes per client address and for
  notifications per shop (SMS_PER_SHOP_PER_DAY), in windows of settings.SMS_LIMITS (in the cache, i.e.
  Redis); over a limit it raises SmsRateLimited and sends nothing. `check_limits` lets a form refuse before
  a code is made. (Sign-in's own limits across attempts are accounts.signin's.)
- Every attempt is recorded (SmsRecord): provider, template, signature, outcome and the provider's
  error code, so failed deliveries are visible (Django admin; shops also see their notification
  deliveries fail in the dashboard).
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

logger = logging.getLogger("shequn.sms")

VERIFICATION_CODE = "verification_code"
NOTIFICATION = "notification"


class SmsError(Exception):
    """The message could not be handed to the SMS provider."""

    def __init__(self, message: str, *, code: str = "", permanent: bool = False):
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class SmsRateLimited(SmsError):
    """Too many messages to this number (or from this address) in a window: nothing was sent."""


@dataclass(frozen=True)
class SmsMessage:
    phone: str  # +86 and 11 digits
    text: str  # the whole message in words (what the log backends show; providers render their template)
    kind: str = NOTIFICATION
    params: dict = field(default_factory=dict)
    sign_name: str = ""
    key: str = ""  # unique per message where the caller has one (passed to providers as their client id)

    @property
    def signature(self) -> str:
        return self.sign_name or settings.SMS_SIGN_NAME

    @property
    def local_number(self) -> str:
        return self.phone.removeprefix("+86")


@dataclass(frozen=True)
class Template:
    id: str
    params: tuple[str, ...]  # the variables, in the template's order (Tencent Cloud passes a list)


def template_for(kind: str) -> Template:
    templates = settings.SMS_TEMPLATES
    entry = templates.get(kind) or templates.get(NOTIFICATION if kind != VERIFICATION_CODE else kind)
    if not entry:
        raise SmsError(f"no SMS template configured for {kind!r} (SMS_TEMPLATES)", permanent=True)
    if isinstance(entry, str):
        default = ("code",) if kind == VERIFICATION_CODE else ("shop", "title", "body")
        return Template(entry, default)
    return Template(str(entry["id"]), tuple(entry.get("params", ())))


# Providers cap each variable of a notification template (Aliyun: 35 characters).
PARAM_MAX = 35


def template_values(message: SmsMessage, template: Template) -> list[str]:
    values = []
    for name in template.params:
        value = str(message.params.get(name, ""))
        values.append(value if name == "code" else value[:PARAM_MAX])
    return values


class SmsBackend:
    name = ""

    def send(self, message: SmsMessage) -> str:
        """Hand the message to the provider; returns the provider's id for it. Raises SmsError."""
        raise NotImplementedError("SMS backends implement send()")


class LogSmsBackend(SmsBackend):
    """Development default: writes the message (and so the code) to the log."""

    name = "log"

    def send(self, message: SmsMessage) -> str:
        logger.warning("SMS to %s: 【%s】%s", message.phone, message.signature, message.text)
        return ""


class LocmemSmsBackend(SmsBackend):
    """Keeps messages in memory (like Django's locmem e-mail backend); used by tests."""

    name = "locmem"
    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            LocmemSmsBackend.outbox.append(message)
        return ""


class AliyunSmsBackend(SmsBackend):
    """Aliyun SMS (Dysms) SendSms through Alibaba Cloud's official SDK (V3 request signature).

    Settings: ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET, ALIYUN_SMS_ENDPOINT.
    """

    name = "aliyun"
    # Codes after which retrying the same message cannot succeed.
    PERMANENT = {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",
    }

    def _client(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        scheme, _sep, host = settings.ALIYUN_SMS_ENDPOINT.rpartition("://")
        timeout_ms = int(settings.SMS_HTTP_TIMEOUT * 1000)
        return Client(
            Config(
                access_key_id=settings.ALIYUN_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_ACCESS_KEY_SECRET,
                endpoint=host.rstrip("/"),
                protocol=(scheme or "https").upper(),
                read_timeout=timeout_ms,
                connect_timeout=timeout_ms,
            )
        )

    def send(self, message: SmsMessage) -> str:
        from alibabacloud_dysmsapi20170525 import models

        template = template_for(message.kind)
        params = dict(zip(template.params, template_values(message, template), strict=True))
        request = models.SendSmsRequest(
            phone_numbers=message.local_number,
            sign_name=message.signature,
            template_code=template.id,
            template_param=json.dumps(params, ensure_ascii=False),
            out_id=message.key[:64] or None,
        )
        try:
            response = self._client().send_sms(request)
        except Exception as exc:  # the SDK raises its own exceptions for transport and signature errors
            code = getattr(exc, "code", "") or type(exc).__name__
            raise SmsError(f"Aliyun SMS: {code}: {exc}"[:300], code=str(code), permanent=_config_error(code)) from exc
        body = response.body
        if body.code != "OK":
            raise SmsError(
                f"Aliyun SMS: {body.code}: {body.message}", code=body.code, permanent=body.code in self.PERMANENT
            )
        return body.biz_id or ""


class TencentSmsBackend(SmsBackend):
    """Tencent Cloud SMS SendSms (API 2021-01-11) through Tencent Cloud's official SDK (TC3 signature).

    Settings: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENT_SMS_SDK_APP_ID, TENCENT_SMS_REGION,
    TENCENT_SMS_ENDPOINT.
    """

    name = "tencent"
    PERMANENT_PREFIXES = (
        "InvalidParameterValue.",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
        "FailedOperation.PhoneNumberInBlacklist",
        "UnauthorizedOperation.",
        "AuthFailure.",
    )

    def _client(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        scheme, _sep, host = settings.TENCENT_SMS_ENDPOINT.rpartition("://")
        http = HttpProfile(protocol=scheme or "https", endpoint=host.rstrip("/"), reqTimeout=settings.SMS_HTTP_TIMEOUT)
        return sms_client.SmsClient(
            credential.Credential(settings.TENCENTCLOUD_SECRET_ID, settings.TENCENTCLOUD_SECRET_KEY),
            settings.TENCENT_SMS_REGION,
            ClientProfile(httpProfile=http),
        )

    def send(self, message: SmsMessage) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        template = template_for(message.kind)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [message.phone]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = message.signature
        request.TemplateId = template.id
        request.TemplateParamSet = template_values(message, template)
        request.SessionContext = message.key[:128]
        try:
            response = self._client().SendSms(request)
        except TencentCloudSDKException as exc:
            code = exc.get_code() or ""
            raise SmsError(
                f"Tencent SMS: {code}: {exc.get_message()}"[:300], code=code, permanent=self._permanent(code)
            ) from exc
        if not response.SendStatusSet:
            raise SmsError("Tencent SMS: an answer without a send status", code="NoSendStatus")
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            raise SmsError(
                f"Tencent SMS: {status.Code}: {status.Message}",
                code=status.Code,
                permanent=self._permanent(status.Code),
            )
        return status.SerialNo or ""

    def _permanent(self, code: str) -> bool:
        return code.startswith(self.PERMANENT_PREFIXES)


def _config_error(code) -> bool:
    """A wrong key or signature will not fix itself by retrying."""
    return str(code) in {"SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId", "Forbidden.RAM"}


# --- Limits ------------------------------------------------------------------------------------------


def _windows(kind: str, scope: str) -> list[tuple[int, int]]:
    """(count, seconds) limits for this kind of message and scope ("number", "ip" or "shop")."""
    limits = settings.SMS_LIMITS.get(kind) or settings.SMS_LIMITS.get("*", {})
    return [tuple(int(part) for part in rule.split("/")) for rule in limits.get(scope, [])]


def _counters(kind: str, phone: str, ip: str | None, shop_id: int | None = None) -> list[tuple[str, int, int]]:
    now = int(time.time())
    bucket = "code" if kind == VERIFICATION_CODE else "other"
    keys = []
    for scope, who in (("number", phone), ("ip", ip), ("shop", shop_id)):
        if not who:
            continue
        for count, seconds in _windows(kind, scope):
            keys.append((f"sms-limit:{bucket}:{scope}:{who}:{seconds}:{now // seconds}", count, seconds))
    return keys


def check_limits(*, phone: str, kind: str, ip: str | None = None) -> None:
    """Raise SmsRateLimited if one more message would go over a limit (counts nothing)."""
    for key, limit, _seconds in _counters(kind, phone, ip):
        if (cache.get(key) or 0) >= limit:
            raise SmsRateLimited("too many messages", code="rate_limited")


def _count(kind: str, phone: str, ip: str | None, shop_id: int | None) -> None:
    """Count this send in every window; over any limit, refuse it. Redis INCR decides under concurrency."""
    over = False
    for key, limit, seconds in _counters(kind, phone, ip, shop_id):
        cache.add(key, 0, timeout=seconds + 1)
        try:
            value = cache.incr(key)
        except ValueError:  # expired between add and incr
            value = 1 if cache.add(key, 1, timeout=seconds + 1) else None
        if value is None:  # the cache (Redis) is down: nothing counts, so nothing is sent
            raise SmsRateLimited("the SMS limits cannot be counted (cache unavailable)", code="cache_unavailable")
        over = over or value > limit
    if over:
        raise SmsRateLimited("too many messages", code="rate_limited")


def backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(
    phone: str,
    text: str,
    *,
    kind: str = NOTIFICATION,
    params: dict | None = None,
    sign_name: str = "",
    key: str = "",
    ip: str | None = None,
    shop_id: int | None = None,
) -> str:
    """Send one SMS within the limits (per number, per client address, per shop: what a shop's messages
    may cost a day) and record the attempt. Returns the provider's message id.

    A number of a demo account (`User.is_demo`, made up by seed_demo) is never handed to a backend:
    the message goes to the log instead (so the demo's sign-in code can be read there) and nothing is
    recorded or counted.
    """
    from .models import SmsRecord, User

    if User.objects.filter(phone=phone, is_demo=True).exists():
        logger.warning("SMS to %s: %s (a demo account: not sent)", phone, text)
        return ""

    message = SmsMessage(phone=phone, text=text, kind=kind, params=params or {}, sign_name=sign_name, key=key)
    sender = backend()
    record = SmsRecord(
        phone=phone, kind=kind[:40], backend=sender.name or type(sender).__name__, sign_name=message.signature, ip=ip
    )
    try:
        _count(kind, phone, ip, shop_id)
        record.provider_id = (sender.send(message) or "")[:64]
        record.status = SmsRecord.SENT
        return record.provider_id
    except SmsError as exc:
        record.status = SmsRecord.LIMITED if isinstance(exc, SmsRateLimited) else SmsRecord.FAILED
        record.error_code, record.error = exc.code[:60], str(exc)[:300]
        logger.warning("SMS %s to %s not sent: %s", kind, phone[:-4] + "****", exc)
        raise
    finally:
        record.save()
