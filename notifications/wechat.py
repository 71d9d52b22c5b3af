"""WeChat messages: official-account template messages (模板消息) and mini-program subscribe messages
(订阅消息), as the WECHAT channel's backend (WechatMessageBackend; set WECHAT_MESSAGE_BACKEND to it).

- A member who signed in with WeChat has an openid of the official account (accounts.identity): they get
  a template message when settings.WECHAT_TEMPLATES has one for the notification's kind (or its
  "notification" fallback). A member known to the mini-program (MiniProgramRecipient) who accepted a
  subscription for the kind's template (SubscriptionGrant, one message per acceptance) gets a
  subscribe message instead. Neither: the channel cannot reach them.
- The access token (cgi-bin/token, two hours) is cached (Redis) and refreshed by one worker at a time
  under a lock in the same Redis, so a crowd of workers finding it missing or rejected fetches it once
  (each fetch would invalidate the token the others hold). A token WeChat rejects (40001/42001/40014)
  is replaced once, and the call tried once more.
- Direct HTTP with `requests` rather than wechatpy (1.8.x): its client refreshes the token in every
  process that finds it expired, with no lock across workers, which is the herd this avoids; the three
  endpoints used are small and documented.
- settings.WECHAT_API_BASE (default https://api.weixin.qq.com) is how the tests reach their fake.
"""

import contextlib
import logging
import threading

import requests
from django.conf import settings
from django.core.cache import cache
from django.db.models import F

from accounts.identity import wechat_openid

from .channels import OutgoingMessage, PermanentError, TransientError, WechatBackend

logger = logging.getLogger("shequn.notifications")

TOKEN_INVALID = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
RETRY_LATER = {-1, 45009, 45047}  # system busy, daily quota reached, too many messages to this user
# Errors about this member or template: retrying cannot help (43004 unsubscribed the official account,
# 43101 no subscription left, 40003 bad openid, 40037 bad template id, 47003 bad template data).
NO_RETRY = {43004, 43101, 40003, 40037, 47003, 43116}
_local_locks: dict[str, threading.Lock] = {}


class WechatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode


# jscode2session's answers for a wx.login code that is wrong or already used: the caller's fault.
INVALID_LOGIN_CODE = frozenset({40029, 40163})


def _api(path: str) -> str:
    return settings.WECHAT_API_BASE.rstrip("/") + path


@contextlib.contextmanager
def _exclusive(name: str):
    """One holder at a time across workers (a Redis lock); in-process when the cache has no locks."""
    lock_factory = getattr(cache, "lock", None)
    if lock_factory is None:
        with _local_locks.setdefault(name, threading.Lock()):
            yield
        return
    lock = lock_factory(f"lock:{name}", timeout=30, blocking_timeout=20)
    if not lock.acquire():
        raise TransientError("WeChat access token is being refreshed elsewhere for too long")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # expired meanwhile: someone else may hold it now
            lock.release()


def _fetch_token(app_id: str, secret: str) -> tuple[str, int]:
    response = requests.get(
        _api("/cgi-bin/token"),
        params={"grant_type": "client_credential", "appid": app_id, "secret": secret},
        timeout=settings.WECHAT_HTTP_TIMEOUT,
    )
    data = response.json()
    if "access_token" not in data:
        raise WechatApiError(int(data.get("errcode", -1)), data.get("errmsg", ""))
    return data["access_token"], int(data.get("expires_in", 7200))


def access_token(app_id: str, secret: str, *, rejected: str = "") -> str:
    """The app's access token, fetched once across workers when missing (or when `rejected` by WeChat)."""
    key = f"wechat:access-token:{app_id}"
    token = cache.get(key)
    if token and token != rejected:
        return token
    with _exclusive(f"wechat:access-token:{app_id}"):
        token = cache.get(key)  # fetched by whoever held the lock before us?
        if token and token != rejected:
            return token
        token, expires_in = _fetch_token(app_id, secret)
        cache.set(key, token, timeout=max(expires_in - 300, 60))  # renewed before WeChat expires it
        return token


def call(app_id: str, secret: str, path: str, payload: dict) -> dict:
    """POST to a WeChat API with the access token; a rejected token is replaced once and the call retried."""
    token = access_token(app_id, secret)
    for attempt in (1, 2):
        try:
            response = requests.post(
                _api(path), params={"access_token": token}, json=payload, timeout=settings.WECHAT_HTTP_TIMEOUT
            )
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TransientError(f"WeChat unreachable: {type(exc).__name__}: {exc}") from exc
        errcode = int(data.get("errcode", 0))
        if errcode in TOKEN_INVALID and attempt == 1:
            token = access_token(app_id, secret, rejected=token)
            continue
        if errcode:
            raise WechatApiError(errcode, data.get("errmsg", ""))
        return data
    raise AssertionError("unreachable")


def _template(kind: str, templates: dict) -> dict | None:
    return templates.get(kind) or templates.get("notification")


def _fields(template: dict, message: OutgoingMessage) -> dict:
    """The template's fields from the message ("thing" fields hold at most 20 characters)."""
    values = {"title": message.title, "body": message.body, "shop": message.shop_name, "url": message.url}
    data = {}
    for field, source in template.get("fields", {}).items():
        value = str(values.get(source, source))
        data[field] = {"value": value[:20] if field.startswith("thing") else value[:200]}
    return data


class WechatMessageBackend(WechatBackend):
    """Template messages to the official account's followers, else subscribe messages in the mini-program."""

    def can_reach(self, user) -> bool:
        from .models import MiniProgramRecipient

        if settings.WEIXIN_APP_ID and wechat_openid(user):
            return True
        return bool(settings.WECHAT_MINIPROGRAM_APP_ID) and MiniProgramRecipient.objects.filter(user=user).exists()

    def send(self, message: OutgoingMessage) -> None:
        openid = wechat_openid(message.user) if settings.WEIXIN_APP_ID else ""
        template = _template(message.kind, settings.WECHAT_TEMPLATES)
        if openid and template:
            self._send_template(openid, template, message)
            return
        self._send_subscribe(message)

    def _send_template(self, openid: str, template: dict, message: OutgoingMessage) -> None:
        payload = {"touser": openid, "template_id": template["id"], "data": _fields(template, message)}
        if message.url:
            payload["url"] = message.url
        self._deliver(settings.WEIXIN_APP_ID, settings.WEIXIN_APP_SECRET, "/cgi-bin/message/template/send", payload)

    def _send_subscribe(self, message: OutgoingMessage) -> None:
        from .models import MiniProgramRecipient, SubscriptionGrant

        template = _template(message.kind, settings.WECHAT_SUBSCRIBE_TEMPLATES)
        recipient = MiniProgramRecipient.objects.filter(user=message.user).first()
        if recipient is None or template is None:
            raise PermanentError("no WeChat openid, or no template for this kind of message")
        # One message per acceptance: take one, decided by a conditional UPDATE.
        taken = SubscriptionGrant.objects.filter(user=message.user, template_id=template["id"], remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if not taken:
            raise PermanentError("the member has no subscription left for this message")
        payload = {
            "touser": recipient.openid,
            "template_id": template["id"],
            "page": template.get("page", ""),
            "data": _fields(template, message),
            "miniprogram_state": settings.WECHAT_MINIPROGRAM_STATE,
        }
        try:
            self._deliver(
                settings.WECHAT_MINIPROGRAM_APP_ID,
                settings.WECHAT_MINIPROGRAM_SECRET,
                "/cgi-bin/message/subscribe/send",
                payload,
            )
        except TransientError:
            SubscriptionGrant.objects.filter(user=message.user, template_id=template["id"]).update(
                remaining=F("remaining") + 1  # not used: the retry may use it
            )
            raise

    @staticmethod
    def _deliver(app_id: str, secret: str, path: str, payload: dict) -> None:
        try:
            call(app_id, secret, path, payload)
        except WechatApiError as exc:
            if exc.errcode in NO_RETRY:
                raise PermanentError(f"WeChat refused: {exc}") from exc
            raise TransientError(f"WeChat error: {exc}") from exc


# --- The mini-program tells us who the member is there and what they accepted ----------------------


def mini_program_openid(code: str) -> str:
    """The member's mini-program openid from a wx.login code (sns/jscode2session)."""
    try:
        response = requests.get(
            _api("/sns/jscode2session"),
            params={
                "appid": settings.WECHAT_MINIPROGRAM_APP_ID,
                "secret": settings.WECHAT_MINIPROGRAM_SECRET,
                "js_code": code,
                "grant_type": "authorization_code",
            },
            timeout=settings.WECHAT_HTTP_TIMEOUT,
        )
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise WechatApiError(-1, f"unreachable: {exc}") from exc
    if not data.get("openid"):
        raise WechatApiError(int(data.get("errcode", -1)), data.get("errmsg", ""))
    return data["openid"]


def record_subscriptions(*, user, code: str, accepted: list[str]) -> dict[str, int]:
    """The member accepted these subscribe templates in the mini-program (wx.requestSubscribeMessage):
    remember their openid and one more message per accepted template we use. Returns what is left."""
    from django.db import transaction

    from .models import MiniProgramRecipient, SubscriptionGrant

    openid = mini_program_openid(code)
    known = {t["id"] for t in settings.WECHAT_SUBSCRIBE_TEMPLATES.values()}
    with transaction.atomic():
        MiniProgramRecipient.objects.filter(openid=openid).exclude(user=user).delete()  # that WeChat user moved
        MiniProgramRecipient.objects.update_or_create(user=user, defaults={"openid": openid})
        for template_id in sorted(set(accepted) & known):
            SubscriptionGrant.objects.get_or_create(user=user, template_id=template_id)  # (user, template) unique
            SubscriptionGrant.objects.filter(user=user, template_id=template_id).update(remaining=F("remaining") + 1)
    return dict(SubscriptionGrant.objects.filter(user=user).values_list("template_id", "remaining"))
