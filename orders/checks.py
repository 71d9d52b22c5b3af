"""System checks for payments."""

from django.conf import settings
from django.core import checks


def check_simulated_payments(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """With DEBUG off, the simulated provider (its cashier lets a member mark their own order paid) may
    be the shops' default only when ALLOW_SIMULATED_PAYMENTS=1 says a demo is meant."""
    if settings.DEBUG or settings.ALLOW_SIMULATED_PAYMENTS or settings.DEFAULT_PAYMENT_PROVIDER != "simulated":
        return []
    return [
        checks.Error(
            "The simulated payment provider is enabled (PAYMENT_PROVIDER=simulated) with DEBUG off: any member "
            "could mark their own orders paid.",
            hint="Leave PAYMENT_PROVIDER empty and let each shop set up WeChat Pay or Alipay in the dashboard, "
            "or set ALLOW_SIMULATED_PAYMENTS=1 for a demo that takes no real money.",
            id="orders.E001",
        )
    ]
