from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("推荐关系")

    def ready(self):
        from orders import hooks

        from .plugins import OrderReferrals

        hooks.register(OrderReferrals)

        # Leaderboards and fraud review follow the referral events (referrals.hooks); fraud's beat jobs live
        # in referrals.fraud, imported here so every worker registers them.
        from . import fraud  # noqa: F401
        from . import hooks as referral_hooks
        from .leaderboards.writes import LeaderboardPlugin

        referral_hooks.register(LeaderboardPlugin)
