from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from shequn import hooks


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("推荐关系")

    def ready(self):
        from . import plugins

        # Referral events of a payment or refund are records of it: kept before any plug-in decides what the
        # payment leads to (the edge's row lock is taken first, as it always was).
        hooks.order_placing.connect(plugins.OrderReferrals.fill_referrer, priority=hooks.RECORD)
        hooks.order_paid.connect(plugins.OrderReferrals.after_paid, priority=hooks.RECORD)
        hooks.order_refunded.connect(plugins.OrderReferrals.after_refund, priority=hooks.RECORD)
        # Stewards' rewards (群主/群管理) for their group's paid orders: recorded beside the referral events.
        from . import stewards

        hooks.order_paid.connect(stewards.record_order_paid, priority=hooks.RECORD + 5)
        hooks.order_refunded.connect(stewards.record_order_refunded, priority=hooks.RECORD + 5)
        hooks.link_opened.connect(plugins.link_opened, priority=hooks.RECORD)
        hooks.link_signed_in.connect(plugins.link_signed_in, priority=hooks.RECORD)
        hooks.member_joined.connect(plugins.member_joined, priority=hooks.RECORD)

        # Points are spent through the order's pricing step: priced last (they pay what is left), debited
        # when the order is created, given back when it is cancelled or refunded in full.
        from . import points

        hooks.order_pricing.connect(points.price, priority=hooks.PRICE_POINTS)
        hooks.pricing_options.connect(points.options, priority=hooks.PRICE_POINTS)
        hooks.order_created.connect(points.spend_for_order, priority=hooks.DECIDE + 30)
        hooks.order_cancelled.connect(points.give_back_for_order, priority=hooks.DECIDE + 30)
        hooks.order_refunded.connect(points.give_back_for_order, priority=hooks.DECIDE + 30)
        hooks.order_refund_succeeded.connect(points.return_for_refund, priority=hooks.DECIDE + 30)

        # Leaderboards follow the referral events (on commit).
        from .leaderboards.writes import LeaderboardPlugin

        hooks.referral_event_recorded.connect(LeaderboardPlugin.event_recorded, priority=hooks.RECORD)
        hooks.referral_events_voided.connect(LeaderboardPlugin.events_voided, priority=hooks.RECORD)
