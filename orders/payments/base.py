"""What a payment provider must implement.

A provider creates payments and refunds with the provider and later tells us, asynchronously and
signed, what happened to them. The order code never trusts a browser redirect: only a verified
notification (or the provider's own answer to a query, for one that never came) changes money state,
and each is processed exactly once.

A provider class is listed in settings.PAYMENT_PROVIDERS and instantiated per shop merchant account
(`orders.models.PaymentAccount`: its public settings and sealed secrets); the simulated provider needs
none. Implemented here: WeChat Pay API v3 (wechatpay.py), Alipay (alipay.py), simulated (simulated.py).

Amounts cross this interface as Decimal yuan with two places; adapters convert to fen where the
provider counts in fen.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.http import HttpResponse


class InvalidNotification(Exception):
    """The callback is not authentic or not well-formed; answer 4xx and change nothing."""


class IgnoredNotification(Exception):
    """An authentic callback that changes nothing here (e.g. "waiting for the buyer"): acknowledge it."""


class ProviderError(Exception):
    """The provider refused the request (its error code and message are in the text)."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class ProviderUnavailable(ProviderError):
    """No usable answer (timeout, connection refused, 5xx, a response whose signature fails): try later."""


@dataclass(frozen=True)
class Notification:
    """A verified statement from the provider about one payment or refund."""

    provider: str
    notification_id: str  # unique per notification at the provider: used to process it once
    kind: str  # "payment" or "refund"
    provider_ref: str  # Payment.provider_ref or Refund.key
    succeeded: bool
    amount: Decimal
    currency: str
    raw: dict
    provider_txn_id: str = ""  # the provider's own number for the payment or refund, when it gives one


@dataclass(frozen=True)
class BillLine:
    """One line of the provider's daily statement (对账单): money that moved on that day."""

    kind: str  # "payment" or "refund"
    reference: str  # Payment.provider_ref, or our refund number (see refund_number)
    amount: Decimal
    provider_txn_id: str = ""


@dataclass(frozen=True)
class CredentialField:
    """A setting an owner enters for a merchant account; secret ones are sealed and never shown back."""

    name: str
    label: str
    secret: bool = False
    multiline: bool = False
    required: bool = True
    help_text: str = ""


@dataclass
class PaymentStart:
    """Where the member's client goes to pay, and what our own pay page needs to show (a QR code's
    content, the WeChat JS bridge's parameters…), kept on the Payment."""

    url: str
    client_params: dict = field(default_factory=dict)


def refund_number(refund) -> str:
    """Our refund's number at a provider (out_refund_no / out_request_no): letters and digits only,
    as both WeChat Pay and Alipay accept, and stable for the refund (retries send the same one)."""
    return f"RF{refund.pk:010d}"


def refund_pk_from_number(number: str) -> int | None:
    if number.startswith("RF") and number[2:].isdigit():
        return int(number[2:])
    return None


def to_fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


class PaymentProvider:
    name: str = ""
    label: str = ""
    # Ways of paying this provider offers (see orders.payments.channels); the member's client picks one.
    channels: tuple[str, ...] = ()
    credential_fields: tuple[CredentialField, ...] = ()
    # Whether a shop needs its own merchant account to use this provider.
    needs_account: bool = True

    def __init__(self, account=None) -> None:
        self.account = account

    def start_payment(self, *, payment, notify_url: str) -> str | PaymentStart:
        """Register `payment` (amount, currency, payment.provider_ref, payment.channel) with the provider.

        Returns where the member's client goes to pay: a URL, or a PaymentStart with the parameters our
        own pay page needs. Raises ProviderError when the provider refuses.
        """
        raise NotImplementedError

    def start_refund(self, *, refund, notify_url: str) -> str:
        """Ask the provider to refund `refund.amount` of `refund.payment`; returns its refund reference.

        Must be idempotent on the refund: asking twice refunds once.
        """
        raise NotImplementedError

    def parse_notification(self, *, body: bytes, headers: dict) -> Notification:
        """Verify the callback's signature and parse it, or raise InvalidNotification (or
        IgnoredNotification for an authentic callback that changes nothing)."""
        raise NotImplementedError

    def new_reference(self) -> str:
        """A fresh merchant-side reference for a payment."""
        raise NotImplementedError

    # --- Recovery and reconciliation (real providers) ---------------------------------------------

    def query_payment(self, *, payment) -> Notification | None:
        """Ask the provider what became of a payment whose notification never came; None if undecided."""
        return None

    def query_refund(self, *, refund) -> Notification | None:
        """Ask the provider what became of a refund; None while it is still being processed."""
        return None

    def close_payment(self, *, payment) -> None:
        """Tell the provider an unpaid payment will not be used any more (best effort)."""

    def fetch_bill(self, *, day: date) -> list[BillLine]:
        """The provider's statement of `day` (Asia/Shanghai): every payment and refund that succeeded."""
        raise NotImplementedError

    def acknowledge(self, *, accepted: bool, message: str = "") -> HttpResponse:
        """The answer the provider expects to a callback: 2xx only once it is safely applied or known."""
        if accepted:
            return HttpResponse("OK")
        return HttpResponse(message or "refused", status=400)
