"""The campaign types the engine knows. Each type package in `campaigns/types/` registers its kind when its
`kind` module is imported; `autodiscover()` (AppConfig.ready) imports them all, so adding a type touches no
other file.
The engine reads everything type-specific through the kinds registered here: their URL modules
(`modules`), admin, settings, figures and what they add to the engine's pages and API."""

import importlib
import importlib.util
import pkgutil
from contextvars import ContextVar

from django.utils.translation import gettext as _

from .models import Campaign

_kinds: dict[str, object] = {}

# The campaign whose order campaigns.services.place_campaign_order is placing in this call: the order hooks
# (campaigns.plugins) find its kind without a query (order_created runs with the SKU's row held). Kept here,
# below both, so that services and plugins need not import each other.
PLACING: ContextVar = ContextVar("campaign placing an order", default=None)


class UnknownCampaignType(LookupError):
    pass


def register(kind):
    """Register a kind (an instance of campaigns.types.base.CampaignKind) under its `code`; returns it."""
    existing = _kinds.get(kind.code)
    if existing is not None and type(existing) is not type(kind):
        raise ValueError(f"campaign type {kind.code!r} registered twice")
    _kinds[kind.code] = kind
    return kind


def unregister(code: str) -> None:
    """Forget a type (a type package installed for a while, as the tests' throwaway type is)."""
    _kinds.pop(code, None)


def get(code: str):
    try:
        return _kinds[code]
    except KeyError:
        raise UnknownCampaignType(_("未知的活动类型：%(code)s") % {"code": code}) from None


def all() -> list:  # noqa: A001 - the registry's natural name
    return list(_kinds.values())


def autodiscover() -> None:
    from . import types

    for package in pkgutil.iter_modules(types.__path__):
        name = f"{types.__name__}.{package.name}.kind"
        if package.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def modules(part: str) -> list[str]:
    """The dotted paths of every registered type's `part` module ("urls", "api_urls", "admin",
    "dashboard_urls") it has."""
    found = (kind.module(part) for kind in _kinds.values())
    return list(dict.fromkeys(dotted for dotted in found if dotted is not None))


def audit_settings_words(model, field: str) -> dict | None:
    """For the audit log (shequn.hooks.audit_value_words): a campaign's `settings` keys as the types' settings
    forms label them, with a choice's words, merged over every type (an entry names no type; a key means
    the same in every type that has it). Built from the form classes alone: no query."""
    if model is not Campaign or field != "settings":
        return None
    described: dict = {}
    for kind in _kinds.values():
        if kind.settings_form is None:
            continue
        for name, form_field in kind.settings_form.base_fields.items():
            choices = dict(getattr(form_field, "choices", None) or [])
            described.setdefault(name, (str(form_field.label or name), {k: str(v) for k, v in choices.items()}))
    return described
