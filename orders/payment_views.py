"""Provider callbacks, our pay page for WeChat Pay (JS bridge, QR code) and the simulated cashier."""

import base64
import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from groups.qr import qr_svg

from .models import Payment, PaymentAccount, Refund, SimulatedCharge
from .payments import IgnoredNotification, InvalidNotification, get_provider, simulated_allowed
from .payments.simulated import settle
from .services import process_notification

logger = logging.getLogger("shequn.payments")


@csrf_exempt
@require_POST
def provider_notify(request, provider: str, account_id: int | None = None):
    """A provider tells us what happened. 2xx only once the notification is safely applied (or known).

    Real providers post to the URL of the shop's merchant account whose keys verify the callback; a
    verified callback about another account's payment is refused.
    """
    account = None
    if account_id is not None:
        account = PaymentAccount.objects.filter(pk=account_id, provider=provider).first()
        if account is None:
            raise Http404
    try:
        handler = get_provider(provider, account=account)
    except InvalidNotification as exc:
        logger.warning("rejected %s notification: %s", provider, exc)
        return HttpResponse("invalid notification", status=400)
    if handler.needs_account and account is None:
        logger.warning("rejected %s notification without a merchant account", provider)
        return handler.acknowledge(accepted=False, message="unknown merchant account")
    try:
        notification = handler.parse_notification(body=request.body, headers=request.headers)
    except IgnoredNotification as exc:
        logger.info("%s notification acknowledged, nothing to do: %s", provider, exc)
        return handler.acknowledge(accepted=True)
    except InvalidNotification as exc:
        logger.warning("rejected %s notification: %s", provider, exc)
        return handler.acknowledge(accepted=False, message="invalid notification")
    if account is not None and not _belongs_to(notification, account):
        logger.warning(
            "rejected %s notification %s: not account %s's", provider, notification.notification_id, account.pk
        )
        return handler.acknowledge(accepted=False, message="not this merchant's")
    try:
        outcome = process_notification(notification)
    except ValidationError as exc:
        logger.error("refused %s notification %s: %s", provider, notification.notification_id, exc)
        return handler.acknowledge(accepted=False, message="refused")
    logger.info("%s notification %s: %s", provider, notification.notification_id, outcome)
    return handler.acknowledge(accepted=True)


def _belongs_to(notification, account: PaymentAccount) -> bool:
    """Whether the payment or refund named is this account's (an unknown one is refused later)."""
    if notification.kind == "payment":
        found = Payment.objects.filter(provider=account.provider, provider_ref=notification.provider_ref)
        field = "account_id"
    else:
        found = Refund.objects.filter(key=notification.provider_ref)
        field = "payment__account_id"
    return not found.exists() or found.filter(**{field: account.pk}).exists()


@require_GET
@login_required
def provider_pay(request, reference: str):
    """Our page for a WeChat Pay payment: inside WeChat it calls the JS bridge with the signed prepay
    parameters; on a desktop it shows the Native QR code to scan with WeChat."""
    payment = get_object_or_404(
        Payment.objects.select_related("order__shop"), provider_ref=reference, order__member=request.user
    )
    params = payment.client_params
    if not (params.get("jsapi") or params.get("code_url")):
        raise Http404
    return render(
        request,
        "orders/member/provider_pay.html",
        {
            "payment": payment,
            "order": payment.order,
            "jsapi": params.get("jsapi"),
            "qr_data_uri": _svg_data_uri(qr_svg(params["code_url"])) if params.get("code_url") else "",
        },
    )


def _svg_data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


@login_required
def simulated_cashier(request, reference: str):
    """The simulated provider's payment page (stands where WeChat Pay's cashier would)."""
    if not simulated_allowed():
        raise Http404
    payment = get_object_or_404(
        Payment.objects.select_related("order"), provider_ref=reference, order__member=request.user
    )
    charge = SimulatedCharge.objects.filter(reference=reference, kind="payment").first()
    if charge is None:
        raise Http404
    if request.method == "POST":
        outcome = request.POST.get("outcome", "success")
        settle(
            charge,
            succeeded=outcome != "fail",
            duplicate=request.POST.get("duplicate") == "1",
            delay_seconds=60 if request.POST.get("late") == "1" else 0,
        )
        return redirect("orders:after_payment", pk=payment.order_id)
    return render(request, "orders/simulated_cashier.html", {"payment": payment, "charge": charge})
