"""The engine's one receiver of each order hook (shequn.hooks, connected in apps.py).

Orders placed through a campaign carry `source="campaign:<id>"`. Each hook finds that campaign, lets the
engine give back what a cancelled or refunded order took from the campaign's stock cap and budget, and
calls the same-named method of the campaign's kind, inside the order's transaction.
"""

from . import registry

PREFIX = "campaign:"


def campaign_id_of(order) -> int | None:
    """The campaign that placed an order (or a pricing draft: anything with a `source`), or None."""
    source = order.source or ""
    if not source.startswith(PREFIX):
        return None
    try:
        return int(source[len(PREFIX) :].split(":", 1)[0])
    except ValueError:
        return None


def _placing(order):
    """The campaign placing this order in this call (its hooks during placement), or None."""
    campaign = registry.PLACING.get()
    return campaign if campaign is not None and campaign_id_of(order) == campaign.pk else None


def _kind_of(order):
    """The kind of the order's campaign, or None for an order placed outside any campaign."""
    from .models import Campaign

    campaign_id = campaign_id_of(order)
    if campaign_id is None:
        return None
    if (placing := _placing(order)) is not None:
        return registry.get(placing.type)
    campaign_type = Campaign.objects.filter(pk=campaign_id).values_list("type", flat=True).first()
    return None if campaign_type is None else registry.get(campaign_type)


def _dispatch(name: str, order):
    """Call the kind's order-hook method `name` (declared on CampaignKind); its answer, or None."""
    kind = _kind_of(order)
    return None if kind is None else getattr(kind, name)(order)


class CampaignOrders:
    @staticmethod
    def before_insert(order) -> None:
        """order_placing: the kind may fill the order's fields (only for the order being placed by
        place_campaign_order in this call, whose campaign is in hand: no query)."""
        if (campaign := _placing(order)) is not None:
            registry.get(campaign.type).before_insert(order, campaign)

    @staticmethod
    def after_create(order) -> None:
        _dispatch("after_create", order)

    @staticmethod
    def after_paid(order) -> None:
        _dispatch("after_paid", order)

    @staticmethod
    def after_cancel(order) -> None:
        from .services import release_campaign_order

        release_campaign_order(order)
        _dispatch("after_cancel", order)

    @staticmethod
    def source_label(order) -> str | None:
        from django.utils.translation import gettext as _

        from .models import Campaign

        campaign_id = campaign_id_of(order)
        if campaign_id is None:
            return None
        found = Campaign.objects.filter(pk=campaign_id).only("name", "type").first()
        if found is None:
            return _("活动（已删除）")
        return _("%(type)s活动「%(name)s」") % {"type": found.get_type_display(), "name": found.name}

    @staticmethod
    def pricing(draft) -> list:
        """The order_pricing receiver: the adjustments of the kind whose campaign placed the draft."""
        from .models import Campaign

        campaign_id = campaign_id_of(draft)
        if campaign_id is None:
            return []
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        return [] if campaign is None else registry.get(campaign.type).pricing(draft, campaign)

    @staticmethod
    def page_after_payment(order) -> str | None:
        return _dispatch("page_after_payment", order)

    @staticmethod
    def before_ship(order) -> None:
        _dispatch("before_ship", order)

    @staticmethod
    def after_refund(order) -> None:
        from .services import release_campaign_order

        release_campaign_order(order)
        _dispatch("after_refund", order)
