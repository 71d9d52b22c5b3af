"""Orders as members place and pay them: a buyer who joined a group through a link, an order placed through
the service, paid on the simulated cashier with the provider's notification delivered."""

import uuid

from groups.services import join_via_link
from orders.payments.simulated import deliver_due, settle
from orders.services import DeliveryRequest, LineRequest, place_order, start_payment
from tests.factories import InviteLinkFactory, UserFactory

SHIPPING = DeliveryRequest(
    method="shipping", recipient_name="王芳", recipient_phone="13800138000", address="上海市徐汇区漕溪北路 1 号"
)
# The same delivery as the checkout form and the member API take it.
SHIPPING_FORM = {
    "delivery": SHIPPING.method,
    "recipient_name": SHIPPING.recipient_name,
    "recipient_phone": SHIPPING.recipient_phone,
    "address": SHIPPING.address,
}


def make_buyer(group, inviter=None):
    user = UserFactory()
    link = InviteLinkFactory(group=group, **({"inviter": inviter} if inviter else {}))
    join_via_link(user=user, code=link.code)
    return user


def order_for(buyer, group, sku, quantity=1, key=None, delivery=SHIPPING):
    return place_order(
        member=buyer,
        group=group,
        lines=[LineRequest(sku.pk, quantity)],
        delivery=delivery,
        idempotency_key=key or uuid.uuid4().hex,
    )


class DjangoClientTransport:
    """Delivers the simulated provider's HTTP notifications through Django's test client."""

    def __init__(self, client):
        self.client = client
        self.statuses = []

    def __call__(self, url, body, headers):
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        response = self.client.generic(
            "POST",
            "/" + path,
            body.encode(),
            content_type="application/json",
            headers={k: v for k, v in headers.items() if k != "Content-Type"},
        )
        self.statuses.append(response.status_code)
        return response.status_code


def pay(order, transport, *, succeeded=True, duplicate=False, delay_seconds=0, amount=None):
    """Member pays through the simulated cashier; the provider's notification is then delivered."""
    from orders.models import SimulatedCharge

    payment, _ = start_payment(order=order)
    charge = SimulatedCharge.objects.get(reference=payment.provider_ref)
    settle(charge, succeeded=succeeded, duplicate=duplicate, delay_seconds=delay_seconds, amount=amount)
    deliver_due(post=transport)
    order.refresh_from_db()
    return payment


def deliver(transport, *, now=None):
    """Deliver whatever the simulated provider has queued (refund notifications, late ones)."""
    from orders.models import Refund
    from orders.services import send_refund_to_provider

    for refund in Refund.objects.filter(provider_ref=""):
        send_refund_to_provider(refund.pk)
    return deliver_due(post=transport, now=now)
