"""Provider callbacks and the simulated provider's cashier page."""

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Payment, SimulatedCharge
from .payments import InvalidNotification, get_provider
from .payments.simulated import settle
from .services import process_notification

logger = logging.getLogger("shequn.payments")


@csrf_exempt
@require_POST
def provider_notify(request, provider: str):
    """A provider tells us what happened. 2xx only once the notification is safely applied (or known)."""
    try:
        notification = get_provider(provider).parse_notification(body=request.body, headers=request.headers)
    except InvalidNotification as exc:
        logger.warning("rejected %s notification: %s", provider, exc)
        return HttpResponseBadRequest("invalid notification")
    try:
        outcome = process_notification(notification)
    except ValidationError as exc:
        logger.error("refused %s notification %s: %s", provider, notification.notification_id, exc)
        return HttpResponseBadRequest("refused")
    logger.info("%s notification %s: %s", provider, notification.notification_id, outcome)
    return HttpResponse("OK")


@login_required
def simulated_cashier(request, reference: str):
    """The simulated provider's payment page (stands where WeChat Pay's cashier would)."""
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
        return redirect("orders:member_order", pk=payment.order_id)
    return render(request, "orders/simulated_cashier.html", {"payment": payment, "charge": charge})
