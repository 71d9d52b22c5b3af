"""Paid entry (入群门槛: 付费): groups decides who may pay (services.paid_entry_target) and gives the seat
when the money lands (services.admit_paid_member); the charging itself (an order, a payment at a provider,
the refund when the group filled meanwhile) belongs to orders, which answers the paid_entry_checkout hook
(shequn.hooks), so groups never imports orders."""

from shequn import hooks

from .services import JoinRefused


def checkout_url(*, user, group, link) -> str:
    """Where the member pays the entry fee; JoinRefused("payment_unavailable") when nothing charges it."""
    url = hooks.paid_entry_checkout.first(user=user, group=group, link=link)
    if url is None:
        raise JoinRefused("payment_unavailable")
    return url
