"""Money that the providers moved, checked against our ledger: recovery of lost notifications and the
daily reconciliation (对账).

Guarantees:
- `recover_payments` / `recover_refunds` ask the provider about payments and refunds that stayed
  undecided past RECOVER_AFTER; a decided one is applied through process_notification, so it counts
  exactly once whether the notification, the query, or both arrive.
- `reconcile_day` compares the provider's statement of one day with the payments and refunds of that
  merchant account, by reference and to the fen; it stores one run per account and day (a re-run
  replaces it) with every difference listed, and records who ran it.
- `resend_unsent_refunds` hands over again refunds no provider has accepted (their task gave up or was
  lost) — at most once per RECOVER_AFTER each; providers take a refund once per refund number.
- No lock is held while the provider is called.
"""

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    ZERO,
    DifferenceKind,
    Order,
    Payment,
    PaymentAccount,
    PaymentState,
    ReconciliationDifference,
    ReconciliationRun,
    ReconciliationState,
    Refund,
    RefundState,
)
from .payments import ProviderError, get_provider
from .payments.base import refund_number
from .services import process_notification

logger = logging.getLogger("shequn.payments")

# A notification normally follows within seconds; after this we ask. Older than GIVE_UP: the provider
# closed the payment long ago (orders time out in minutes), nothing more to learn.
RECOVER_AFTER = timedelta(minutes=2)
GIVE_UP = timedelta(days=2)


def recover_payments(*, now: datetime | None = None, limit: int = 200) -> int:
    """Query real providers about open payments whose notification has not come. Returns how many settled."""
    now = now or timezone.now()
    due = (
        Payment.objects.filter(
            state=PaymentState.CREATED,
            account__isnull=False,
            created_at__lte=now - RECOVER_AFTER,
            created_at__gte=now - GIVE_UP,
        )
        .select_related("account")
        .order_by("created_at")[:limit]
    )
    settled = 0
    for payment in due:
        try:
            outcome = get_provider(payment.provider, account=payment.account).query_payment(payment=payment)
        except ProviderError as exc:
            logger.warning("query of payment %s failed: %s", payment.provider_ref, exc)
            continue
        if outcome is not None:
            logger.info("payment %s recovered by query: %s", payment.provider_ref, process_notification(outcome))
            settled += 1
    return settled


def recover_refunds(*, now: datetime | None = None, limit: int = 200) -> int:
    """Query real providers about refunds still pending; returns how many were decided."""
    now = now or timezone.now()
    due = (
        Refund.objects.filter(
            state=RefundState.PENDING,
            payment__account__isnull=False,
            created_at__lte=now - RECOVER_AFTER,
        )
        .exclude(provider_ref="")
        .select_related("payment__account")
        .order_by("created_at")[:limit]
    )
    decided = 0
    for refund in due:
        try:
            outcome = get_provider(refund.payment.provider, account=refund.payment.account).query_refund(refund=refund)
        except ProviderError as exc:
            logger.warning("query of refund %s failed: %s", refund.key, exc)
            continue
        if outcome is not None:
            logger.info("refund %s recovered by query: %s", refund.key, process_notification(outcome))
            decided += 1
    return decided


def resend_unsent_refunds(*, now: datetime | None = None, limit: int = 200) -> int:
    """Refunds approved but not accepted by any provider yet, last tried over RECOVER_AFTER ago: try again
    (each try and its error are recorded on the refund). Returns how many were accepted now."""
    from .services import send_refund_to_provider

    now = now or timezone.now()
    due = (
        Refund.objects.filter(state=RefundState.PENDING, provider_ref="", created_at__lte=now - RECOVER_AFTER)
        .filter(Q(last_send_at__isnull=True) | Q(last_send_at__lte=now - RECOVER_AFTER))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    accepted = 0
    for refund_id in list(due):
        try:
            send_refund_to_provider(refund_id)
        except Exception as exc:  # recorded on the refund; one provider's outage must not stop the others
            logger.warning("refund %s still not accepted by its provider: %s", refund_id, exc)
            continue
        accepted += 1
    return accepted


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A bill day runs midnight to midnight in Beijing time, as the providers' statements do."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def reconcile_day(*, account: PaymentAccount, day: date, by=None) -> ReconciliationRun:
    """Compare the provider's statement of `day` with our ledger for this merchant account."""
    try:
        bill = get_provider(account.provider, account=account).fetch_bill(day=day)
    except ProviderError as exc:
        with transaction.atomic():
            run, _created = ReconciliationRun.objects.update_or_create(
                account=account,
                day=day,
                defaults={
                    "state": ReconciliationState.FAILED,
                    "error": str(exc)[:300],
                    "by": by,
                    "ran_at": timezone.now(),
                },
            )
            run.differences.all().delete()
        return run

    start, end = day_bounds(day)
    ours_paid = {
        p.provider_ref: p.amount
        for p in Payment.objects.filter(
            account=account, state=PaymentState.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end
        )
    }
    ours_refunded = {
        refund_number(r): r.amount
        for r in Refund.objects.filter(
            payment__account=account, state=RefundState.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end
        )
    }
    theirs_paid = _summed(line for line in bill if line.kind == "payment")
    theirs_refunded = _summed(line for line in bill if line.kind == "refund")
    # A bill line whose payment or refund we settled on another day (a notification after midnight) is
    # matched by reference, not reported twice.
    known_paid = _known_payments(account, set(theirs_paid) - set(ours_paid))
    known_refunded = _known_refunds(account, set(theirs_refunded) - set(ours_refunded))

    differences = []
    differences += _compare("payment", theirs_paid, ours_paid, known_paid)
    differences += _compare("refund", theirs_refunded, ours_refunded, known_refunded)
    with transaction.atomic():
        run, _created = ReconciliationRun.objects.update_or_create(
            account=account,
            day=day,
            defaults={
                "state": ReconciliationState.DIFFERENCES if differences else ReconciliationState.BALANCED,
                "provider_paid": sum(theirs_paid.values(), ZERO),
                "provider_refunded": sum(theirs_refunded.values(), ZERO),
                "ledger_paid": sum(ours_paid.values(), ZERO),
                "ledger_refunded": sum(ours_refunded.values(), ZERO),
                "error": "",
                "by": by,
                "ran_at": timezone.now(),
            },
        )
        run.differences.all().delete()
        ReconciliationDifference.objects.bulk_create(
            [ReconciliationDifference(run=run, **difference) for difference in differences]
        )
    return run


def _summed(lines) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.reference] = totals.get(line.reference, ZERO) + line.amount
    return totals


def _known_payments(account: PaymentAccount, references: set[str]) -> dict[str, Decimal]:
    if not references:
        return {}
    return dict(
        Payment.objects.filter(account=account, state=PaymentState.SUCCEEDED, provider_ref__in=references).values_list(
            "provider_ref", "amount"
        )
    )


def _known_refunds(account: PaymentAccount, numbers: set[str]) -> dict[str, Decimal]:
    pks = [int(number[2:]) for number in numbers if number.startswith("RF") and number[2:].isdigit()]
    if not pks:
        return {}
    return {
        refund_number(r): r.amount
        for r in Refund.objects.filter(Q(pk__in=pks), payment__account=account, state=RefundState.SUCCEEDED)
    }


def _compare(entry: str, theirs: dict, ours: dict, elsewhere: dict) -> list[dict]:
    differences = []
    for reference, amount in sorted(theirs.items()):
        mine = ours.get(reference, elsewhere.get(reference))
        if mine is None:
            differences.append(
                {
                    "kind": DifferenceKind.MISSING_IN_LEDGER,
                    "entry": entry,
                    "reference": reference,
                    "provider_amount": amount,
                }
            )
        elif mine != amount:
            differences.append(
                {
                    "kind": DifferenceKind.AMOUNT_MISMATCH,
                    "entry": entry,
                    "reference": reference,
                    "provider_amount": amount,
                    "ledger_amount": mine,
                }
            )
    for reference, amount in sorted(ours.items()):
        if reference not in theirs:
            differences.append(
                {
                    "kind": DifferenceKind.MISSING_AT_PROVIDER,
                    "entry": entry,
                    "reference": reference,
                    "ledger_amount": amount,
                }
            )
    return differences


# Statements of a day are published the next morning (WeChat Pay from 10:00 Beijing time, Alipay earlier).
STATEMENT_PUBLISHED_AT = time(10, 0)


def reconcile_latest(*, now: datetime | None = None) -> int:
    """The periodic job: the latest published statement of every enabled merchant account (a re-run
    replaces that day's run). Returns how many accounts were reconciled."""
    local = timezone.localtime(now or timezone.now())
    day = local.date() - timedelta(days=1 if local.time() >= STATEMENT_PUBLISHED_AT else 2)
    done = 0
    for account in PaymentAccount.objects.filter(is_enabled=True).order_by("pk"):
        reconcile_day(account=account, day=day)
        done += 1
    return done


# --- Each order's own figures against its ledger rows ---------------------------------------------


def _succeeded_sum(model):
    rows = model.objects.filter(order=OuterRef("pk"), state="succeeded").order_by().values("order")
    money = DecimalField(max_digits=12, decimal_places=2)
    summed = Subquery(rows.annotate(s=Sum("amount")).values("s"), output_field=money)
    return Coalesce(summed, Value(ZERO))


def order_ledger_mismatches(*, shop_id: int | None = None):
    """Orders whose paid − refunded is not what their succeeded payments and refunds say (one query).

    orders.services keeps paid_amount and refunded_amount equal to those sums; any order listed here is
    a defect to investigate, with `ledger_paid` and `ledger_refunded` annotated beside the order's figures.
    """
    orders = Order.objects.all() if shop_id is None else Order.objects.filter(shop_id=shop_id)
    return (
        orders.annotate(ledger_paid=_succeeded_sum(Payment), ledger_refunded=_succeeded_sum(Refund))
        .filter(~Q(paid_amount=F("ledger_paid")) | ~Q(refunded_amount=F("ledger_refunded")))
        .order_by("-created_at", "-pk")
    )


def check_order_ledgers(result) -> None:
    """The periodic check (job "order-ledger-check"): each mismatch is a failure of the run, counted for its
    shop, so the jobs page shows it; the shop's payments page lists the orders (no order is named here,
    the run's errors are seen by every shop)."""
    for order in order_ledger_mismatches().only("pk", "shop_id", "paid_amount", "refunded_amount"):
        logger.error(
            "order %s: paid %s refunded %s, ledger says paid %s refunded %s",
            order.pk,
            order.paid_amount,
            order.refunded_amount,
            order.ledger_paid,
            order.ledger_refunded,
        )
        result.count(order.shop_id)
        result.fail(str(_("有订单的已付/已退金额与支付流水不一致，见「收款与对账」。")))
