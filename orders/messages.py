"""The member's messages about their orders (paid, shipped, refunded): receivers of the order hooks of
shequn.hooks, connected in OrdersConfig.ready; orders writes them through notifications, the layer below.

Each runs inside the transaction that changes the order, so the notification commits with the change or
not at all, and the outbox sends it only after commit; its key makes it once per order and event. They are
connected at hooks.TELL, after every receiver that decides what the change leads to, so a message tells
the outcome: a payment a plug-in bounced and refunded (a full 拼团 team, a full group) is never promised
a shipment.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.models import Category
from notifications.services import notify

from .models import Delivery as DeliveryMethod
from .models import Order, OrderState


def _order_url(order) -> str:
    return reverse("orders:member_order", args=[order.pk])


class OrderNotifications:
    def after_paid(self, order) -> None:
        # Nothing to ship for an entry fee, nor for a payment a decider refunded (the order passed in is the
        # payment's copy: the refund moved the row, so it is read again).
        if (
            order.delivery == DeliveryMethod.NONE
            or not Order.objects.filter(pk=order.pk, state=OrderState.PAID).exists()
        ):
            body = _("订单 %(number)s 已付款 ¥%(total)s。") % {"number": order.number, "total": order.total}
        else:
            body = _("订单 %(number)s 已付款 ¥%(total)s，商家会尽快为你发货。") % {
                "number": order.number,
                "total": order.total,
            }
        notify(
            shop=order.shop_id,
            user=order.member_id,
            category=Category.TRANSACTIONAL,
            kind="order_paid",
            key=f"order:{order.pk}:paid",
            title=_("付款成功"),
            body=body,
            url=_order_url(order),
        )

    def before_ship(self, order) -> None:
        # Runs just before the move to "shipped", in the same transaction: a refused move writes nothing.
        if order.delivery == DeliveryMethod.PICKUP:
            body = _("订单 %(number)s 的商品已备好，请到自提点取货。") % {"number": order.number}
        else:
            body = _("订单 %(number)s 已发货，请留意收货。") % {"number": order.number}
        notify(
            shop=order.shop_id,
            user=order.member_id,
            category=Category.TRANSACTIONAL,
            kind="order_shipped",
            key=f"order:{order.pk}:shipped",
            title=_("商家已发货"),
            body=body,
            url=_order_url(order),
        )

    def after_refund(self, order) -> None:
        notify(
            shop=order.shop_id,
            user=order.member_id,
            category=Category.TRANSACTIONAL,
            kind="order_refunded",
            key=f"order:{order.pk}:refunded",
            title=_("退款成功"),
            body=_("订单 %(number)s 的 ¥%(amount)s 已原路退回。")
            % {"number": order.number, "amount": order.refunded_amount},
            url=_order_url(order),
        )


ORDER_NOTIFICATIONS = OrderNotifications()
