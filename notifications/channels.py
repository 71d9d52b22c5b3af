"""The channels a notification goes out on besides the in-app inbox, as pluggable backends.

A channel backend is a class with:

    channel: str                                  # a notifications.models.Channel value
    def can_reach(self, user) -> bool             # asked once, when the notification is released: a member
                                                  # without an address on this channel gets no delivery row
    def send(self, message: OutgoingMessage) -> None
        # Hand the message to the provider. Raise PermanentError when retrying cannot help (no such
        # recipient, template refused): the delivery fails now. Any other exception (TransientError,
        # a timeout, a 5xx) is retried with exponential backoff and jitter, up to MAX_ATTEMPTS.
        # `message.key` is unique per delivery: pass it to providers that deduplicate on a client key.

settings.NOTIFICATION_BACKENDS maps a channel to the dotted path of its backend, and
settings.NOTIFICATION_ROUTES maps a category to the channels it uses (defaults below).

WeChat (official-account template messages, mini-program subscribe messages) is
notifications.wechat.WechatMessageBackend: `can_reach` looks up the member's openid (allauth's weixin
SocialAccount, or the mini-program login), `send` maps `message.kind` to a template and calls WeChat
with the account's access token. When WeChat reaches a member, SMS is its fallback rather than sent
beside it (the shop chooses SMS or the inbox: NotificationSettings.wechat_fallback). The default
backend writes to the log.
"""

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from accounts.identity import wechat_openid
from accounts.sms import SmsError, send_sms
from shops.models import ShopSettings

from .models import Category, Channel

logger = logging.getLogger("shequn.notifications")
# A provider call never blocks a worker longer than this (a hung one is retried later).
SEND_TIMEOUT_SECONDS = 10

DEFAULT_BACKENDS = {
    Channel.EMAIL: "notifications.channels.EmailBackend",
    Channel.SMS: "notifications.channels.SmsBackend",
    Channel.WECHAT: "notifications.channels.LogWechatBackend",
}
# SMS only for what a member must not miss (payment, refund, shipping): it costs money and commercial
# SMS needs consent. Commercial messages reach members in the inbox and on WeChat.
DEFAULT_ROUTES = {
    Category.TRANSACTIONAL: [Channel.WECHAT, Channel.SMS, Channel.EMAIL],
    Category.REMINDER: [Channel.WECHAT],
    Category.MARKETING: [Channel.WECHAT],
    Category.CAMPAIGN: [Channel.WECHAT],
}


class DeliveryError(Exception):
    """A channel could not deliver the message."""


class TransientError(DeliveryError):
    """Worth retrying later (provider busy, network down)."""


class PermanentError(DeliveryError):
    """Retrying cannot help (no such recipient, message refused)."""


@dataclass(frozen=True)
class OutgoingMessage:
    key: str  # unique per delivery
    user: object
    shop_name: str
    category: str
    kind: str
    title: str
    body: str
    url: str  # absolute, or empty
    shop_id: int | None = None


class ChannelBackend:
    channel: str = ""

    def can_reach(self, user) -> bool:
        raise NotImplementedError

    def send(self, message: OutgoingMessage) -> None:
        raise NotImplementedError


class EmailBackend(ChannelBackend):
    """Through Django's e-mail backend (settings.EMAIL_*)."""

    channel = Channel.EMAIL

    def can_reach(self, user) -> bool:
        return bool(user.email)

    def send(self, message: OutgoingMessage) -> None:
        text = message.body + (f"\n\n{message.url}" if message.url else "")
        email = EmailMessage(
            subject=f"[{message.shop_name}] {message.title}",
            body=text,
            to=[message.user.email],
            headers={"X-Shequn-Notification": message.key},
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT_SECONDS),
        )
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"recipient refused: {exc}") from exc


class SmsBackend(ChannelBackend):
    """Through accounts.sms.send_sms (settings.SMS_BACKEND)."""

    channel = Channel.SMS

    def can_reach(self, user) -> bool:
        return bool(user.phone)

    def send(self, message: OutgoingMessage) -> None:
        """The provider's template for this kind (or the generic notification one) under the shop's SMS
        signature; a refusal that retrying cannot fix (bad number, template) fails the delivery now."""
        sign_name = (
            ShopSettings.objects.filter(shop_id=message.shop_id).values_list("sms_sign_name", flat=True).first() or ""
        )
        text = f"{message.title}：{message.body}" + (f" {message.url}" if message.url else "")
        try:
            send_sms(
                message.user.phone,
                text,
                kind=message.kind,
                params={"shop": message.shop_name, "title": message.title, "body": message.body, "url": message.url},
                sign_name=sign_name,
                key=message.key,
                shop_id=message.shop_id,
            )
        except SmsError as exc:
            if exc.permanent:
                raise PermanentError(str(exc)) from exc
            raise TransientError(str(exc)) from exc


class WechatBackend(ChannelBackend):
    """Base for WeChat template / subscribe message backends (see the module docstring)."""

    channel = Channel.WECHAT


class LogWechatBackend(WechatBackend):
    """Development default: writes what would be sent to the log, for members WeChat could reach (they
    signed in with WeChat); the others get the SMS at once, as with the real backend."""

    def can_reach(self, user) -> bool:
        return bool(wechat_openid(user))

    def send(self, message: OutgoingMessage) -> None:
        logger.info(
            "WeChat message %s to user %s: %s — %s %s",
            message.key,
            message.user.pk,
            message.title,
            message.body,
            message.url,
        )


def backend_for(channel: str) -> ChannelBackend:
    paths = {**DEFAULT_BACKENDS, **getattr(settings, "NOTIFICATION_BACKENDS", {})}
    return import_string(paths[channel])()


def channels_for(category: str) -> list[str]:
    routes = {**DEFAULT_ROUTES, **getattr(settings, "NOTIFICATION_ROUTES", {})}
    return list(routes.get(category, []))
