"""Payment providers. settings.PAYMENT_PROVIDERS maps a name to a class implementing PaymentProvider.

The order code talks only to this interface; see base.py for what a provider must implement,
wechatpay.py and alipay.py for the real ones, and simulated.py for the built-in simulated provider
(development and demo only: refused with DEBUG off unless ALLOW_SIMULATED_PAYMENTS=1, see orders.checks).
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (  # noqa: F401
    IgnoredNotification,
    InvalidNotification,
    Notification,
    PaymentProvider,
    PaymentStart,
    ProviderError,
    ProviderUnavailable,
)


class ProviderDisabled(InvalidNotification):
    """The provider exists but may not be used here (the simulated one in production)."""


def simulated_allowed() -> bool:
    """The simulated cashier lets anyone mark their own order paid: development, tests and demos only."""
    return bool(settings.DEBUG or getattr(settings, "ALLOW_SIMULATED_PAYMENTS", False))


def provider_class(name: str) -> type[PaymentProvider]:
    try:
        path = settings.PAYMENT_PROVIDERS[name]
    except KeyError:
        raise InvalidNotification(f"unknown payment provider {name!r}") from None
    return import_string(path)


def get_provider(name: str, account=None) -> PaymentProvider:
    """The provider `name`, for a shop's merchant account when it needs one."""
    if name == "simulated" and not simulated_allowed():
        raise ProviderDisabled("the simulated payment provider is disabled (ALLOW_SIMULATED_PAYMENTS)")
    return provider_class(name)(account=account)


def default_provider() -> PaymentProvider:
    return get_provider(settings.DEFAULT_PAYMENT_PROVIDER)
