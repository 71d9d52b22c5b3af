"""Paid entry (入群门槛: 付费): the extension point through which a higher app charges the entry fee.

groups decides who may pay (services.paid_entry_target) and gives the seat when the money lands
(services.admit_paid_member); the charging itself (an order, a payment at a provider, the refund when
the group filled meanwhile) belongs to orders, which registers its handler here from its AppConfig.ready,
so groups never imports orders.

A handler has one method:

    checkout(*, user, group, link) -> str
        Start (or resume) the member's entry payment for `group` through `link` and return the URL the
        member goes to pay. Called outside any transaction; may raise django ValidationError.
"""

from typing import Protocol

from .services import JoinRefused


class PaidEntryHandler(Protocol):
    def checkout(self, *, user, group, link) -> str: ...


_handler: PaidEntryHandler | None = None


def register(handler: PaidEntryHandler) -> None:
    """Set the handler (one: paid entry is charged in one place)."""
    global _handler
    _handler = handler


def checkout_url(*, user, group, link) -> str:
    if _handler is None:
        raise JoinRefused("payment_unavailable")
    return _handler.checkout(user=user, group=group, link=link)
