"""The built-in simulated payment provider. It behaves like a real one, without real money:

- a payment gets a provider reference and a cashier page where the member confirms (or, for
  testing, makes it fail, notify twice, or notify late);
- the outcome reaches us only as an asynchronous, HMAC-signed HTTP notification to the callback
  URL, sent by a worker from the provider's own outbox and retried with backoff until answered 2xx;
- refunds are idempotent on their key and are notified the same way.
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from shequn import kicks

from ..models import SimulatedCharge, SimulatedNotificationOutbox
from .base import InvalidNotification, Notification, PaymentProvider

SIGNATURE_HEADER = "X-Simulated-Signature"
MAX_ATTEMPTS = SimulatedNotificationOutbox.MAX_ATTEMPTS


def _secret() -> bytes:
    return (settings.SIMULATED_PAY_SECRET or settings.SECRET_KEY).encode()


def sign(body: str) -> str:
    return hmac.new(_secret(), body.encode(), hashlib.sha256).hexdigest()


class SimulatedProvider(PaymentProvider):
    name = "simulated"
    label = gettext_lazy("模拟支付")
    channels = ("simulated",)
    needs_account = False  # development and demo only: see orders.checks

    def new_reference(self) -> str:
        return "SIM" + secrets.token_hex(10).upper()

    def start_payment(self, *, payment, notify_url: str) -> str:
        SimulatedCharge.objects.get_or_create(
            reference=payment.provider_ref,
            defaults={
                "kind": "payment",
                "amount": payment.amount,
                "currency": payment.currency,
                "notify_url": notify_url,
            },
        )
        return reverse("orders:simulated_cashier", args=[payment.provider_ref])

    def start_refund(self, *, refund, notify_url: str) -> str:
        behaviour = settings.SIMULATED_REFUND_BEHAVIOUR
        try:
            with transaction.atomic():
                charge = SimulatedCharge.objects.create(
                    kind="refund",
                    reference=refund.key,
                    payment_reference=refund.payment.provider_ref,
                    amount=refund.amount,
                    currency=refund.payment.currency,
                    notify_url=notify_url,
                )
        except IntegrityError:  # asked twice: refund once
            return SimulatedCharge.objects.get(reference=refund.key).reference
        settle(
            charge,
            succeeded=behaviour.get("outcome", "success") == "success",
            duplicate=behaviour.get("duplicate", False),
            delay_seconds=behaviour.get("delay_seconds", 0),
        )
        return charge.reference

    def parse_notification(self, *, body: bytes, headers: dict) -> Notification:
        text = body.decode("utf-8", errors="replace")
        given = headers.get(SIGNATURE_HEADER, "")
        if not given or not hmac.compare_digest(given, sign(text)):
            raise InvalidNotification("bad signature")
        try:
            data = json.loads(text)
            return Notification(
                provider=self.name,
                notification_id=str(data["id"]),
                kind=data["kind"],
                provider_ref=str(data["reference"]),
                succeeded=data["status"] == "succeeded",
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                raw=data,
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise InvalidNotification(f"malformed notification: {exc}") from exc


@transaction.atomic
def settle(
    charge: SimulatedCharge,
    *,
    succeeded: bool,
    duplicate: bool = False,
    delay_seconds: int = 0,
    amount: Decimal | None = None,
) -> None:
    """The provider decides a charge and queues its signed notification (twice, or late, on request).

    `amount` lets a test make the provider report a different amount than was asked for.
    """
    locked = SimulatedCharge.objects.select_for_update().get(pk=charge.pk)
    if locked.state != "created":
        return  # already decided: a second click on the cashier changes nothing
    locked.state = "succeeded" if succeeded else "failed"
    locked.save(update_fields=["state"])
    body = json.dumps(
        {
            "id": "N" + secrets.token_hex(8),
            "kind": locked.kind,
            "reference": locked.reference,
            "status": locked.state,
            "amount": str(amount if amount is not None else locked.amount),
            "currency": locked.currency,
            "at": timezone.now().isoformat(),
        }
    )
    due = timezone.now() + timedelta(seconds=delay_seconds)
    for _ in range(2 if duplicate else 1):
        SimulatedNotificationOutbox.objects.create(
            reference=locked.reference, notify_url=locked.notify_url, body=body, signature=sign(body), deliver_after=due
        )
    # Robust: with the broker (Redis) down the kick is lost, not the cashier's answer; the periodic pump
    # (deliver-simulated-notifications) posts the queued rows.
    kicks.kick_after_commit("orders.tasks.deliver_simulated_notifications")


# A pump owns the rows it claimed for LEASE; it claims CLAIM_CHUNK at a time, so the lease outlasts their
# posts (each times out after POST_TIMEOUT seconds).
CLAIM_CHUNK = 10
POST_TIMEOUT = 10
LEASE = timedelta(minutes=5)


def deliver_due(*, post=None, now=None, limit: int = 500) -> int:
    """Send every due notification once; a failed send is retried later with exponential backoff.

    Never posts inside a transaction: rows are claimed (SKIP LOCKED, so two pumps never take the same
    row) and leased in one short transaction, posted after it commits, and each outcome is recorded in
    its own short transaction. A pump that dies mid-post leaves its rows to the next one once the lease
    runs out (the callback may then arrive twice: the receiver applies each notification id once).
    `post(url, body, headers)` returns an HTTP status; by default it is a real HTTP POST.
    """
    post = post or _http_post
    sent = taken = 0
    while taken < limit:
        at = now or timezone.now()
        chunk = min(CLAIM_CHUNK, limit - taken)
        claimed = _claim(at, chunk)
        for row in claimed:
            try:
                status = post(
                    row.notify_url, row.body, {SIGNATURE_HEADER: row.signature, "Content-Type": "application/json"}
                )
                error = "" if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:  # network failure: retry later
                error = f"{type(exc).__name__}: {exc}"[:300]
            sent += _record(row, error=error, now=at)
        taken += len(claimed)
        if len(claimed) < chunk:
            break
    return sent


def _claim(now, limit: int) -> list[SimulatedNotificationOutbox]:
    """Take up to `limit` due rows: unclaimed ones whose time has come and ones whose pump died (lease
    expired), counting the attempt now so a row that kills its pump every time still gives up."""
    with transaction.atomic():
        rows = list(
            SimulatedNotificationOutbox.objects.select_for_update(skip_locked=True)
            .filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .filter(Q(lease_until__isnull=True, deliver_after__lte=now) | Q(lease_until__lte=now))
            .order_by("deliver_after", "pk")[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.lease_until = now + LEASE
            row.last_attempt_at = now
        SimulatedNotificationOutbox.objects.bulk_update(rows, ["attempts", "lease_until", "last_attempt_at"])
    return rows


def _record(row: SimulatedNotificationOutbox, *, error: str, now) -> int:
    """The outcome of one post, only if the claim is still ours (a pump whose lease ran out must not
    overwrite its successor's). Returns 1 if delivered."""
    fields = {"lease_until": None}
    if error:
        fields.update(last_error=error, deliver_after=now + timedelta(seconds=2**row.attempts))
    else:
        fields.update(delivered_at=timezone.now())
    mine = SimulatedNotificationOutbox.objects.filter(pk=row.pk, attempts=row.attempts, delivered_at__isnull=True)
    return 1 if mine.update(**fields) and not error else 0


def _http_post(url: str, body: str, headers: dict) -> int:
    import requests

    return requests.post(url, data=body.encode(), headers=headers, timeout=POST_TIMEOUT).status_code
