"""Payment providers. settings.PAYMENT_PROVIDERS maps a name to a class implementing PaymentProvider.

The order code talks only to this interface; see base.py for what a provider must implement
(WeChat Pay and Alipay plug in here), and simulated.py for the built-in simulated provider.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import InvalidNotification, Notification, PaymentProvider  # noqa: F401


def get_provider(name: str) -> PaymentProvider:
    try:
        path = settings.PAYMENT_PROVIDERS[name]
    except KeyError:
        raise InvalidNotification(f"unknown payment provider {name!r}") from None
    return import_string(path)()


def default_provider() -> PaymentProvider:
    return get_provider(settings.DEFAULT_PAYMENT_PROVIDER)
