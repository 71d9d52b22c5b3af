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
