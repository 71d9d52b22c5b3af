"""What a campaign's share poster says: a purchase, not a group invitation. The product's picture, the
prices and the mechanic (3 人团 · 还差 1 人, 还差 4 刀, 3 位好友助力), the sharer's name and "推荐给你".
The drawing is groups.qr's; this module only chooses the words and the picture (the offer line is the
kind's `poster_offer`)."""

from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from orders.models import ProductImage

from . import registry
from .models import Campaign


def poster_words(campaign: Campaign, target=None) -> dict:
    """group_name, invite_words, call and offer for groups.posters.poster_png. `target`: the member's
    team, bargain or help task the poster shares, if any."""
    return {
        "group_name": campaign.hook_title or campaign.name,
        "invite_words": _("推荐给你"),
        "call": _("长按识别二维码购买"),
        "offer": registry.get(campaign.type).poster_offer(campaign, target),
    }


def with_original_price(words: str, was) -> str:
    """The offer's words, then 原价 ¥x when the original price is known."""
    return f"{words} · " + _("原价 ¥%(price)s") % {"price": was} if was else words


def product_picture(campaign: Campaign) -> FieldFile | None:
    """The product's first picture, the poster's cover (none: the poster's plain colour)."""
    if not campaign.product_id:
        return None
    first = ProductImage.objects.filter(product_id=campaign.product_id).order_by("position", "pk").first()
    return first.image if first else None
