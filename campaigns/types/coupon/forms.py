"""券 settings in the dashboard's campaign editor (the template's terms); kind.clean_coupon_settings decides
(the choices' codes are terms.py's CouponKindCode, Scope, Validity and Audience)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CouponSettingsForm(forms.Form):
    """The coupon template's terms as the dashboard shows them. The supply is the campaign's 活动库存上限 and
    the per-member limit its 每人限参与次数 (1 when empty)."""

    coupon_kind = forms.ChoiceField(
        label=_("券类型"),
        initial="threshold",
        choices=[
            ("threshold", _("满减券")),
            ("percent", _("折扣券")),
            ("no_threshold", _("无门槛券")),
            ("exchange", _("兑换券（兑换活动商品规格一件）")),
        ],
        error_messages={
            "invalid_choice": _("请选择券的类型：满减、折扣、无门槛或兑换券。"),
            "required": _("请选择券的类型：满减、折扣、无门槛或兑换券。"),
        },
    )
    amount_off = forms.CharField(label=_("减免金额（元）"), required=False, help_text=_("满减券、无门槛券填写。"))
    threshold = forms.CharField(label=_("使用门槛（元）"), required=False, help_text=_("满减券：订单满此金额可用。"))
    percent_off = forms.CharField(
        label=_("折扣力度（%）"), required=False, help_text=_("折扣券：减去的百分比，例如 15 = 8.5 折。")
    )
    max_off = forms.CharField(label=_("最多减（元）"), required=False, help_text=_("折扣券的封顶金额，留空不封顶。"))
    scope = forms.ChoiceField(
        label=_("适用范围"),
        initial="all",
        choices=[("all", _("全部商品")), ("products", _("指定商品")), ("groups", _("指定群下单"))],
    )
    scope_products = forms.CharField(label=_("指定商品"), required=False, help_text=_("商品名称或编号，逗号分隔。"))
    scope_groups = forms.CharField(label=_("指定群"), required=False, help_text=_("群名称或编号，逗号分隔。"))
    validity = forms.ChoiceField(
        label=_("有效期"),
        initial="relative",
        choices=[("relative", _("领取后 N 天内有效")), ("fixed", _("固定日期"))],
    )
    valid_days = forms.CharField(label=_("有效天数"), required=False, initial=7, help_text=_("1–365 天。"))
    valid_from = forms.CharField(
        label=_("生效时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    valid_until = forms.CharField(
        label=_("失效时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    per_day_limit = forms.CharField(label=_("每人每日限领"), required=False, help_text=_("留空不限。"))
    audience = forms.ChoiceField(
        label=_("谁可以领"),
        initial="everyone",
        choices=[
            ("everyone", _("活动群的所有成员")),
            ("new_members", _("新用户（未在本店下过单）")),
            ("tags", _("带指定标签的成员")),
        ],
    )
    audience_tags = forms.CharField(label=_("成员标签"), required=False, help_text=_("标签名称或编号，逗号分隔。"))
    stack_with_campaign_price = forms.BooleanField(label=_("可与活动价（拼团、秒杀等）同时使用"), required=False)
    return_on_refund = forms.BooleanField(label=_("整单退款后退回优惠券（仍在有效期内）"), required=False, initial=True)
    in_centre = forms.BooleanField(label=_("在领券中心展示，成员可自行领取"), required=False, initial=True)
    referral_reward = forms.BooleanField(
        label=_("作为邀请双方得券的奖励（推荐奖励规则为优惠券时发放）"), required=False
    )
    repurchase_reminder = forms.BooleanField(label=_("随复购提醒发放（每次提醒送一张）"), required=False)


# A template another rule may give from: one not over (a draft is given once it runs).
LIVE_STATES = ("draft", "scheduled", "running")


def template_choices(shop) -> list[tuple[str, str]]:
    """The shop's own live coupon templates as a picker's choices, newest first: (id, "name · face (state)").
    No shop, no choices: another shop's template is never offered (and the types' validation refuses it)."""
    from campaigns.models import Campaign, CampaignType

    from .terms import template_words

    if shop is None:
        return []
    templates = Campaign.objects.filter(
        shop_id=getattr(shop, "pk", shop), type=CampaignType.COUPON, state__in=LIVE_STATES
    ).order_by("-pk")
    return [(str(t.pk), template_words(t)) for t in templates]


class CouponTemplateSelect(forms.Select):
    """A select of the shop's coupon templates that keeps the stored value as typed: the field stays a
    CharField, so a value not offered reaches the type's validation and its own message."""

    def __init__(self, *, shop=None, attrs=None):
        super().__init__(attrs=attrs, choices=[("", _("请选择优惠券"))] + template_choices(shop))
