"""The referrals plug-in of the order lifecycle (orders.hooks): paid orders of invitees become events
and qualify referrals; a full refund takes both back. Runs inside the order's transaction."""

from . import services


class OrderReferrals:
    @staticmethod
    def after_paid(order) -> None:
        services.record_order_paid(order)

    @staticmethod
    def after_refund(order) -> None:
        services.record_order_refunded(order)
