"""What a campaign's share poster says: a purchase, not a group invitation. The product's picture, the
prices and the mechanic (3 人团 · 还差 1 人, 还差 4 刀, 3 位好友助力), the sharer's name and "推荐给你".
The drawing is groups.qr's; this module only chooses the words and the picture."""

from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from orders.models import ProductImage

from .models import BargainTask, Campaign, CampaignType, HelpTask, Team
from .types import group_buy
from .types import help as helping


def poster_words(campaign: Campaign, target=None) -> dict:
    """group_name, invite_words, call and offer for groups.posters.poster_png. `target`: the member's
    team, bargain or help task the poster shares, if any."""
    return {
        "group_name": campaign.hook_title or campaign.name,
        "invite_words": _("推荐给你"),
        "call": _("长按识别二维码购买"),
        "offer": _offer(campaign, target),
    }


def _offer(campaign: Campaign, target) -> str:
    was = campaign.sku.price if campaign.sku_id else None
    if campaign.type == CampaignType.GROUP_BUY:
        rules = group_buy.Rules(campaign)
        size = rules.tiers[-1][0] if rules.tiers else rules.team_size
        words = _("拼团价 ¥%(price)s · %(n)d 人团") % {"price": rules.group_price, "n": size}
        if isinstance(target, Team):
            words += " · " + _("还差 %(n)d 人") % {"n": target.seats_left}
    elif campaign.type == CampaignType.BARGAIN:
        words = _("最低砍到 ¥%(price)s") % {"price": campaign.settings.get("floor_price")}
        if isinstance(target, BargainTask):
            left = max(target.cuts_planned - target.cuts_done, 0)
            words = _("现价 ¥%(price)s · 还差 %(n)d 刀") % {"price": target.current_price, "n": left}
        was = campaign.settings.get("original_price") or was
    elif campaign.type == CampaignType.HELP:
        rules = helping.Rules(campaign)
        needed = rules.helps_needed
        if isinstance(target, HelpTask):
            needed = max(target.helps_needed - target.help_count, 0)
        if rules.reward_price is not None:
            words = _("%(n)d 位好友助力 · ¥%(price)s 得") % {"n": needed, "price": rules.reward_price}
        else:
            words = _("%(n)d 位好友助力 · 免费得") % {"n": needed}
    else:
        return ""
    return f"{words} · " + _("原价 ¥%(price)s") % {"price": was} if was else words


def product_picture(campaign: Campaign) -> FieldFile | None:
    """The product's first picture, the poster's cover (none: the poster's plain colour)."""
    if not campaign.product_id:
        return None
    first = ProductImage.objects.filter(product_id=campaign.product_id).order_by("position", "pk").first()
    return first.image if first else None
