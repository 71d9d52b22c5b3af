"""Channel backends for tests: an SMS provider that is down, and one that refuses the recipient."""

from accounts.sms import SmsBackend, SmsError
from notifications.channels import LogWechatBackend, PermanentError


class DownSmsBackend(SmsBackend):
    """Every send fails like a provider outage (transient)."""

    calls = 0

    def send(self, message) -> None:
        DownSmsBackend.calls += 1
        raise SmsError("provider busy (503)")


class RefusingWechatBackend(LogWechatBackend):
    def can_reach(self, user) -> bool:
        return True

    def send(self, message) -> None:
        raise PermanentError("no openid for this member")


class RecordingWechatBackend(LogWechatBackend):
    """Reaches every member (as if all had signed in with WeChat) and keeps what it was asked to send."""

    outbox: list = []

    def can_reach(self, user) -> bool:
        return True

    def send(self, message) -> None:
        RecordingWechatBackend.outbox.append(message)


class ProbingSmsBackend(SmsBackend):
    """Looks at the worker while each SMS is being sent: is it inside a transaction, and can another
    connection lock the delivery and its notification right now (tests.race.lock_elsewhere)?"""

    seen: list[dict] = []

    def send(self, message) -> str:
        from django.db import connection

        from notifications.models import Delivery, Notification
        from tests.race import lock_elsewhere

        notification_id = int(message.key.split(":")[0].removeprefix("n"))
        delivery = Delivery.objects.get(notification_id=notification_id, channel="sms")
        ProbingSmsBackend.seen.append(
            {
                "in_transaction": connection.in_atomic_block,
                "delivery": lock_elsewhere(Delivery, delivery.pk),
                "notification": lock_elsewhere(Notification, notification_id),
            }
        )
        return "probe-1"


class InstanceRecordingWechatBackend(RecordingWechatBackend):
    """Keeps which backend object sent each message, to show a run shares one per channel."""

    senders: list[int] = []

    def send(self, message) -> None:
        InstanceRecordingWechatBackend.senders.append(id(self))
