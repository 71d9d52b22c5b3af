"""What a payment provider must implement.

A provider creates payments and refunds with the provider and later tells us, asynchronously and
signed, what happened to them. The order code never trusts a browser redirect: only a verified
notification changes money state, and each notification is processed exactly once.

To add WeChat Pay or Alipay: subclass PaymentProvider, implement the four methods with the
provider's SDK (JSAPI / H5 payment for WeChat Pay v3, wap pay for Alipay), verify their callback
signatures in parse_notification, and add the class to settings.PAYMENT_PROVIDERS.
"""

from dataclasses import dataclass
from decimal import Decimal


class InvalidNotification(Exception):
    """The callback is not authentic or not well-formed; answer 400 and change nothing."""


@dataclass(frozen=True)
class Notification:
    """A verified statement from the provider about one payment or refund."""

    provider: str
    notification_id: str  # unique per notification at the provider: used to process it once
    kind: str  # "payment" or "refund"
    provider_ref: str  # Payment.provider_ref or Refund.provider_ref
    succeeded: bool
    amount: Decimal
    currency: str
    raw: dict


class PaymentProvider:
    name: str = ""

    def start_payment(self, *, payment, notify_url: str) -> str:
        """Register `payment` (amount, currency, payment.provider_ref) with the provider.

        Returns the URL (or mini-program parameters, serialised) the member's client opens to pay.
        """
        raise NotImplementedError

    def start_refund(self, *, refund, notify_url: str) -> str:
        """Ask the provider to refund `refund.amount` of `refund.payment`; returns its refund reference.

        Must be idempotent on `refund.key`: asking twice refunds once.
        """
        raise NotImplementedError

    def parse_notification(self, *, body: bytes, headers: dict) -> Notification:
        """Verify the callback's signature and parse it, or raise InvalidNotification."""
        raise NotImplementedError

    def new_reference(self) -> str:
        """A fresh merchant-side reference for a payment."""
        raise NotImplementedError
