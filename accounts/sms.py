"""Pluggable SMS sending. settings.SMS_BACKEND names a class implementing SmsBackend.

A production backend (Aliyun SMS, Tencent Cloud SMS…) subclasses SmsBackend and implements
send(); it should raise SmsError on failure so the caller can tell the user to retry.
"""

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("shequn.sms")


class SmsError(Exception):
    """The message could not be handed to the SMS provider."""


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class SmsBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError("SMS backends implement send()")


class LogSmsBackend(SmsBackend):
    """Development default: writes the message (and so the code) to the log."""

    def send(self, message: SmsMessage) -> None:
        logger.warning("SMS to %s: %s", message.phone, message.text)


class LocmemSmsBackend(SmsBackend):
    """Keeps messages in memory (like Django's locmem e-mail backend); used by tests."""

    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> None:
        with self._lock:
            LocmemSmsBackend.outbox.append(message)


def send_sms(phone: str, text: str) -> None:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    backend.send(SmsMessage(phone=phone, text=text))
