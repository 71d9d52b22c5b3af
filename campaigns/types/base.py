"""The one small interface a campaign type implements to plug its rules into the engine.

A type subclasses `CampaignKind`, sets `code` (a `CampaignType` value) and `label`, overrides what it
needs and registers an instance: `registry.register(MyKind())` at the bottom of its module.

Order hooks: an order placed through `services.place_campaign_order` carries `source="campaign:<id>"`;
the engine's one orders plug-in (campaigns.plugins) finds the campaign and calls the same-named method of
its kind, inside the order's transaction (after_create, after_paid, after_cancel, before_ship,
after_refund). Raising ValidationError in before_ship refuses the shipment; after_paid must never raise
(the money is taken): refund instead.
"""

from django.core.exceptions import ValidationError  # noqa: F401 - re-exported for the types


class CampaignKind:
    code: str = ""
    label: str = ""
    # Does the type sell through `place_campaign_order` (needs a product/SKU on the campaign)?
    sells: bool = False
    # The dashboard's form for the type's settings (a django Form; rendered with prefix "s"): its cleaned
    # data, or the raw input when it does not validate, goes to validate_settings. None: no settings.
    settings_form = None
    # Labels of the keys `figures` returns, in display order: {key: gettext_lazy("…")}.
    figure_labels: dict = {}

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        """Return the cleaned settings (JSON-safe: Decimals as strings) or raise ValidationError with a
        Chinese message per field (keys are the settings' names). `campaign_fields` are the engine's
        cleaned fields (starts_at, ends_at, sku, product, stock_cap, budget, per_member_limit…)."""
        return dict(settings or {})

    def on_start(self, campaign) -> None:
        """The campaign just became running (inside the transaction that moved it)."""

    def on_end(self, campaign) -> None:
        """The campaign just ended or was cancelled (`campaign.state` says which), inside that transaction."""

    def expire_due(self, *, now) -> int:
        """Close whatever of this type ran out of time by `now`; return how many. Called by the engine's
        periodic job: must be idempotent and safe to run concurrently (each item in its own transaction)."""
        return 0

    def figures(self, campaign) -> dict:
        """Live figures of one campaign for the dashboard: {label: value} in display order."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"
