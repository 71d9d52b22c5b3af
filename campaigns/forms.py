"""Forms of the campaign pages: the member's team checkout and the operator's campaign editor."""

from django import forms
from django.utils.translation import gettext_lazy as _

from groups.models import Group, GroupSeries
from orders.member_forms import CheckoutForm
from orders.models import Sku

from . import registry


class TeamCheckoutForm(CheckoutForm):
    """The order confirmation of opening or joining a team: delivery (as any order) and, when the member
    is in several of the campaign's groups, which one the order belongs to."""

    group = forms.ModelChoiceField(
        label=_("下单群"),
        queryset=Group.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("请选择你所在的活动群。"), "required": _("请选择你所在的活动群。")},
    )

    def __init__(self, *args, shop, groups: list[Group], **kwargs):
        super().__init__(*args, shop=shop, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(pk__in=[g.pk for g in groups])
        if groups:
            self.fields["group"].initial = groups[0].pk
        self.single_group = len(groups) == 1


DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignForm(forms.Form):
    """The engine's fields. Only shape is checked here; the rules live in services.validate_campaign."""

    # The registered types (campaigns.registry), read when the form is made: a type's package adds its own.
    type = forms.ChoiceField(label=_("活动类型"), choices=lambda: [(kind.code, kind.label) for kind in registry.all()])
    name = forms.CharField(label=_("活动名称"), max_length=60, required=False)
    starts_at = forms.DateTimeField(
        label=_("开始时间"),
        widget=DATETIME_INPUT,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"invalid": _("请输入正确的时间。")},
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"),
        widget=DATETIME_INPUT,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"invalid": _("请输入正确的时间。")},
    )
    all_groups = forms.BooleanField(label=_("本店所有群"), required=False, initial=True)
    groups = forms.ModelMultipleChoiceField(
        label=_("指定群"), queryset=Group.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    series = forms.ModelMultipleChoiceField(
        label=_("指定群活码"), queryset=GroupSeries.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    sku = forms.ModelChoiceField(
        label=_("商品规格"),
        queryset=Sku.objects.none(),
        required=False,
        empty_label=_("（不选）"),
        error_messages={"invalid_choice": _("请选择本店的商品规格。")},
    )
    stock_cap = forms.CharField(
        label=_("活动库存上限"), required=False, help_text=_("通过本活动最多售出的件数；留空则只受商品库存限制。")
    )
    budget = forms.CharField(
        label=_("活动预算（元）"), required=False, help_text=_("优惠补贴（原价与活动价之差）的总额上限；留空则不限。")
    )
    per_member_limit = forms.CharField(label=_("每人限参与次数"), required=False)
    hook_title = forms.CharField(label=_("主题"), max_length=60, required=False)
    hook_text = forms.CharField(label=_("诱饵与行动号召"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    proof_text = forms.CharField(
        label=_("信任证明（证书、买家评价）"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    cta_text = forms.CharField(label=_("行动按钮文字"), max_length=30, required=False)

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = Group.objects.filter(shop=shop).order_by("name", "pk")
        self.fields["series"].queryset = GroupSeries.objects.filter(shop=shop).order_by("name", "pk")
        self.fields["sku"].queryset = (
            Sku.objects.filter(product__shop=shop).select_related("product").order_by("product__name", "spec")
        )
        self.fields["sku"].label_from_instance = lambda sku: f"{sku.product.name} · {sku.spec} · ¥{sku.price}"

    def engine_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("type", None)
        return data


class TierField(forms.CharField):
    """Tiers typed as lines "人数 价格" (e.g. "3 39" / "5 35"); validated by the type."""

    def to_python(self, value):
        tiers = []
        for line in (value or "").splitlines():
            parts = line.replace("，", " ").replace(",", " ").replace("人", " ").replace("¥", " ").split()
            if not parts:
                continue
            tiers.append({"size": parts[0], "price": parts[1] if len(parts) > 1 else ""})
        return tiers


class GroupBuySettingsForm(forms.Form):
    """拼团 settings as the dashboard shows them; GroupBuy.validate_settings decides."""

    team_size = forms.CharField(label=_("成团人数"), required=False, help_text=_("至少 2 人。"))
    group_price = forms.CharField(label=_("拼团价（元）"), required=False, help_text=_("必须低于商品原价。"))
    time_limit_minutes = forms.CharField(
        label=_("成团时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("团长付款后开始计时，例如 1440 = 24 小时。"),
    )
    leader_discount = forms.CharField(label=_("团长优惠（元）"), required=False, help_text=_("选填：团长少付的金额。"))
    new_members_only = forms.BooleanField(label=_("仅限新人参团（未在本店下过单）"), required=False)
    simulate_fill = forms.BooleanField(
        label=_("模拟成团"),
        required=False,
        help_text=_("到期未满员时自动成团。默认关闭；使用后会在活动数据中如实标注。"),
    )
    tiers = TierField(
        label=_("阶梯价（选填）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "每行「人数 价格」，如「3 39」「5 35」。填写后按第一档价格付款，"
            "成团时按达到的档位自动退差价，最后一档人数即成团人数。"
        ),
    )

    @classmethod
    def initial_from(cls, settings: dict) -> dict:
        initial = dict(settings or {})
        initial["tiers"] = "\n".join(f"{t['size']} {t['price']}" for t in settings.get("tiers") or [])
        return initial


class HelpSettingsForm(forms.Form):
    """助力 settings as the dashboard shows them; clean_help_settings (HelpKind.validate_settings) decides."""

    helps_needed = forms.CharField(
        label=_("需要助力人数"), required=False, initial=3, help_text=_("好友助力达到此人数即完成，1–100 人。")
    )
    time_limit_minutes = forms.CharField(
        label=_("助力时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("发起后开始计时，例如 1440 = 24 小时；不能长于活动时长。"),
    )
    reward_kind = forms.ChoiceField(
        label=_("奖励方式"),
        initial="price",
        choices=[("price", _("助力价购买活动商品")), ("free_item", _("赠品（商家发放）"))],
        error_messages={
            "invalid_choice": _("请选择奖励方式：助力价购买或赠品。"),
            "required": _("请选择奖励方式：助力价购买或赠品。"),
        },
    )
    reward_price = forms.CharField(
        label=_("助力价（元）"), required=False, help_text=_("奖励为助力价购买时填写，必须低于商品原价。")
    )
    reward_label = forms.CharField(
        label=_("赠品名称"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 60}),
        help_text=_("奖励为赠品时填写；留空则用活动商品的名称。"),
    )
    new_users_only = forms.BooleanField(label=_("仅限新用户助力（未在本店下过单）"), required=False)
    helps_per_helper = forms.CharField(
        label=_("每人可助力次数"),
        required=False,
        initial=1,
        help_text=_("同一好友在本活动中最多能为几位发起人助力，默认 1 次。"),
    )


class BargainSettingsForm(forms.Form):
    """砍价 settings as the dashboard shows them; clean_bargain_settings (BargainKind.validate_settings) decides."""

    original_price = forms.CharField(
        label=_("原价（元）"), required=False, help_text=_("砍价的起点；留空则为商品价格，不能高于商品价格。")
    )
    floor_price = forms.CharField(label=_("底价（元）"), required=False, help_text=_("砍到此价为止，必须低于原价。"))
    min_cuts = forms.CharField(
        label=_("砍到底价所需人数"), required=False, initial=5, help_text=_("至少要几位好友各砍一刀才能砍到底价。")
    )
    max_cuts = forms.CharField(
        label=_("最多人数（选填）"),
        required=False,
        help_text=_("填写后所需人数在上面的人数与此数之间随机；留空则固定。"),
    )
    time_limit_minutes = forms.CharField(
        label=_("砍价时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("发起后开始计时，例如 1440 = 24 小时；不能长于活动时长。"),
    )
    may_buy_before_floor = forms.BooleanField(label=_("允许未砍到底价时按当前价购买"), required=False)
    first_cut_share = forms.CharField(
        label=_("首刀比例"),
        required=False,
        initial="0.50",
        help_text=_("第一刀砍掉差价的比例，0–0.90，如 0.50 表示首刀砍掉一半。"),
    )
    pay_within_minutes = forms.CharField(
        label=_("付款期限（分钟）"),
        required=False,
        help_text=_("砍到底价后须在此时间内付款，例如 1440 = 24 小时；留空则用店铺设置。"),
    )
