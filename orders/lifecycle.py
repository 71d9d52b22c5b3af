"""The order state machine: one table of allowed moves, one function that applies and records a move."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Order, OrderState, OrderTransition

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderState.PENDING_PAYMENT: frozenset({OrderState.PAID, OrderState.CANCELLED}),
    OrderState.PAID: frozenset({OrderState.SHIPPED, OrderState.REFUND_REQUESTED}),
    OrderState.SHIPPED: frozenset({OrderState.COMPLETED, OrderState.REFUND_REQUESTED}),
    OrderState.COMPLETED: frozenset({OrderState.REFUND_REQUESTED}),
    OrderState.REFUND_REQUESTED: frozenset({OrderState.REFUNDED, OrderState.REFUND_REJECTED}),
    OrderState.REFUND_REJECTED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.REFUNDED: frozenset(),
}
# States in which the member has paid and not been refunded: the money is the shop's.
PAID_STATES = (
    OrderState.PAID,
    OrderState.SHIPPED,
    OrderState.COMPLETED,
    OrderState.REFUND_REQUESTED,
    OrderState.REFUND_REJECTED,
)


class TransitionRefused(ValidationError):
    pass


def transition_order(*, order: Order, to_state: str, by=None, reason: str = "", **fields) -> Order:
    """Move `order` to `to_state` if allowed from the state it is in *now*, and record the move.

    Must run inside the caller's transaction. The move is one conditional UPDATE on the current
    state, so of two concurrent moves from the same state exactly one wins; the loser is refused.
    """
    from_state = order.state
    if to_state not in ALLOWED_TRANSITIONS[from_state]:
        raise TransitionRefused(
            _("订单当前为「%(from)s」，不能变为「%(to)s」。")
            % {"from": OrderState(from_state).label, "to": OrderState(to_state).label}
        )
    updated = Order.objects.filter(pk=order.pk, state=from_state).update(state=to_state, **fields)
    if updated != 1:
        order.refresh_from_db()
        raise TransitionRefused(
            _("订单状态已变化（现在是「%(now)s」），请刷新后重试。") % {"now": OrderState(order.state).label}
        )
    OrderTransition.objects.create(
        order=order, from_state=from_state, to_state=to_state, by=by, reason=reason[:200], at=timezone.now()
    )
    order.state = to_state
    for name, value in fields.items():
        setattr(order, name, value)
    return order
