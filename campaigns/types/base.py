"""The one interface a campaign type implements to plug its rules, pages and API into the engine.

A type subclasses `CampaignKind`, sets `code` and `label`, overrides what it needs and registers an
instance: `registry.register(MyKind())` where its kind is defined. Everything else the engine learns from
the kind: its settings form and validation, its figures, what its landing page, API and dashboard page
add, and its own URL and admin modules. The engine never names a type.

Order hooks: an order placed through `services.place_campaign_order` carries `source="campaign:<id>"`;
the engine's one orders plug-in (campaigns.plugins) finds the campaign and calls the same-named method of
its kind, inside the order's transaction (after_create, after_paid, after_cancel, before_ship,
after_refund). Raising ValidationError in before_ship refuses the shipment; after_paid must never raise
(the money is taken): refund instead.
"""

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError  # noqa: F401 - re-exported for the types


class CampaignKind:
    code: str = ""
    label: str = ""
    # One line for the launch wizard's type cards: what the member does and gets (gettext_lazy).
    summary: str = ""
    # The names of the settings form's fields the launch wizard asks for up front (the two or three numbers
    # that make the campaign), in order; the others sit under 高级设置 with their defaults. Empty: all folded.
    # A name may also be one of the engine's numbers (stock_cap, per_member_limit, budget…) the type needs.
    essential_settings: tuple[str, ...] = ()
    # Does the type sell through `place_campaign_order` (needs a product/SKU on the campaign)?
    sells: bool = False
    # May a campaign of this type have no end (ends_at None: it runs until an operator ends it)?
    open_ended: bool = False
    # The dashboard's form for the type's settings (a django Form; rendered with prefix "s"): its cleaned
    # data, or the raw input when it does not validate, goes to validate_settings. None: no settings.
    settings_form = None
    # Labels of the keys `figures` returns, in display order: {key: gettext_lazy("…")}.
    figure_labels: dict = {}
    # Dotted paths of the type's own modules, each optional: `urls` (its member pages, included at /m/c/
    # in the "campaigns" namespace), `api_urls` (its member API, at /api/v1/) and `admin` (its platform
    # admin, imported with campaigns.admin), `dashboard_urls` (its operator pages, included under
    # /dashboard/campaigns/ in the "dashboard" namespace). Left as None, each is looked up by that name in the package
    # the kind is defined in, so a type package with a `urls.py` needs to say nothing; its `templates/`
    # directory is found the same way.
    urls: str | None = None
    api_urls: str | None = None
    admin: str | None = None
    dashboard_urls: str | None = None

    # -- settings --

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        """Return the cleaned settings (JSON-safe: Decimals as strings) or raise ValidationError with a
        Chinese message per field (keys are the settings' names). `campaign_fields` are the engine's
        cleaned fields (starts_at, ends_at, sku, product, stock_cap, budget, per_member_limit…)."""
        return dict(settings or {})

    # -- the engine's lifecycle --

    def on_start(self, campaign) -> None:
        """The campaign just became running (inside the transaction that moved it)."""

    def on_end(self, campaign) -> None:
        """The campaign just ended or was cancelled (`campaign.state` says which), inside that transaction."""

    def expire_due(self, *, now) -> int:
        """Close whatever of this type ran out of time by `now`; return how many. Called by the engine's
        periodic job: must be idempotent and safe to run concurrently (each item in its own transaction)."""
        return 0

    # -- order hooks: inside the order's transaction, for orders of this type's campaigns --

    def before_insert(self, order, campaign) -> None:
        """The campaign's order is about to be inserted (not saved, no pk; before any hot row is taken): set
        its fields (a shorter time to pay). Only for an order placed by place_campaign_order."""

    def after_create(self, order) -> None:
        """The campaign's order was just placed."""

    def after_paid(self, order) -> None:
        """The order's payment landed. Must never raise (the money is taken): refund instead."""

    def after_cancel(self, order) -> None:
        """The order was cancelled (the engine has already given back its stock cap and budget)."""

    def before_ship(self, order) -> None:
        """The order is about to ship: raise ValidationError (the message shown to the operator) to refuse."""

    def after_refund(self, order) -> None:
        """The order was refunded (the engine has already given back its stock cap and budget)."""

    def pricing(self, draft, campaign) -> list:
        """The order core's pricing step (shequn.hooks.order_pricing, at PRICE_GIFT) for a draft placed through
        one of this type's campaigns (`draft.source` starts with the campaign's `order_source`): a list of
        orders.pricing.Adjustment (a free item: a GIFT adjustment of minus what is left to pay). Writes nothing
        (asked for quotes too). Empty: the price stands."""
        return []

    def page_after_payment(self, order) -> str | None:
        """Where the member goes once the order is paid (a path), or None for the order's own page."""
        return None

    # -- what the type adds to the engine's pages and API --

    def landing_context(self, campaign, user) -> dict:
        """Extra context of the campaign's landing page for `user` (maybe anonymous), read by the type's
        `campaigns/<code>/landing_cta.html`."""
        return {}

    def api_fields(self) -> dict:
        """The type's fields of the campaign API, {name: serializer instance}, for every campaign (null on
        other types' campaigns); `api_extras` fills them for a campaign of this type."""
        return {}

    def api_extras(self, campaign) -> dict:
        """{name: data} for each of `api_fields`, of one campaign of this type (data as the field's
        serializer takes it)."""
        return {}

    def figures(self, campaign) -> dict:
        """Live figures of one campaign for the dashboard: {key: value} in display order."""
        return {}

    def dashboard_figures(self, campaign) -> dict:
        """The context of the dashboard's live-figures box: `figures` as [(label, value)] from `figures`
        and `figure_labels`, plus whatever the type's note under them needs."""
        return {"figures": self.labelled(self.figures(campaign))}

    def labelled(self, figures: dict) -> list[tuple]:
        """Figures as [(label, value)] in their order, each key labelled by `figure_labels`."""
        labels = self.figure_labels or {}
        return [(labels.get(key, key), value) for key, value in figures.items()]

    def settings_words(self, campaign) -> dict[str, str]:
        """Settings the dashboard's rules show in words instead of as stored, {setting name: text}: the
        names of the shop's objects (coupon templates, products, tags…) a setting holds the ids of, read
        in a fixed number of queries however many ids; one missing or of another shop is a neutral
        label (已失效的券…), never its id. The other settings are shown as the settings form labels them."""
        return {}

    def settings_not_shown(self, campaign) -> frozenset[str]:
        """Settings that do not apply to this campaign as it is set (another reward kind's price or label),
        whose rows the dashboard's rules leave out rather than show as empty. By default every setting
        applies."""
        return frozenset()

    def dashboard_context(self, campaign, request) -> dict:
        """Extra context of the campaign's dashboard page, read by the type's
        `campaigns/<code>/dashboard_detail.html` (shown under the rules when it exists)."""
        return {}

    # -- the member's own part, on the group page, the group shop, product pages and 我的活动 --

    # The heading of the member's list of their own participations of this type (我的拼团…); empty: the
    # type lists none.
    participation_label: str = ""

    def member_price(self, campaign) -> Decimal | None:
        """What a member pays for the campaign's product through it (a product page shows it with a link to
        the campaign), or None when the type has no price of its own. No query."""
        return None

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """The member's own part in each of these running campaigns of this type, as the group page shows it:
        {campaign_id: {"summary": words (my team, 2 seats left), "url": where it is, "ends_at": when it runs
        out or None}}; campaigns the member has no part in are left out. At most one query, whatever the
        number of campaigns."""
        return {}

    def participations(self, member, *, limit: int) -> list[dict]:
        """The member's own participations of this type, newest first, at most `limit`: each {"id",
        "campaign_id", "title" (the campaign's), "state" (a code), "state_label", "summary" (words),
        "live" (still going), "ends_at" (or None), "url"}. Only `member`'s own; at most two queries."""
        return []

    # -- messages to members --

    def send_due_messages(self, *, now) -> int:
        """Write the messages whose time has come (a coupon about to expire) to the outbox, each once (a
        unique key); return how many were written. Called by the engine's periodic job: idempotent."""
        return 0

    def poster_offer(self, campaign, target) -> str:
        """The offer line of a share poster (price and mechanic); `target` is the member's own object the
        poster shares (a team, a task…) or None. Empty: no offer line."""
        return ""

    # -- the type's own modules and templates --

    def package(self) -> str | None:
        """The dotted name of the package the kind is defined in (None: a kind of the engine's own modules)."""
        defined_in = type(self).__module__
        package = defined_in if hasattr(sys.modules.get(defined_in), "__path__") else defined_in.rpartition(".")[0]
        return None if package in ("campaigns", "campaigns.types") else package

    def module(self, part: str) -> str | None:
        """The dotted path of the type's `part` module ("urls", "api_urls", "admin", "dashboard_urls"), or None
        if it has none."""
        declared = getattr(self, part, None)
        if declared:
            return declared
        package = self.package()
        if package is None:
            return None
        dotted = f"{package}.{part}"
        return dotted if importlib.util.find_spec(dotted) is not None else None

    def templates_dir(self) -> Path | None:
        """The type package's `templates/` directory (found by campaigns.templates.TypeTemplates), if any."""
        package = self.package()
        if package is None:
            return None
        found = Path(sys.modules[package].__path__[0]) / "templates"
        return found if found.is_dir() else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"
