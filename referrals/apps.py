from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("推荐关系")

    def ready(self):
        from orders import hooks

        from .plugins import OrderReferrals

        hooks.register(OrderReferrals)

        # Leaderboards follow the referral events (referrals.hooks).
        from . import hooks as referral_hooks
        from .leaderboards.writes import LeaderboardPlugin

        referral_hooks.register(LeaderboardPlugin)
