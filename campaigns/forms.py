"""The operator's campaign editor: the engine's fields. Each type's settings form is its package's forms.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from groups.models import Group, GroupSeries
from orders.models import Sku

from . import registry

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
        help_text=_("打卡活动可留空：长期有效，直到手动结束。"),
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


class LaunchForm(forms.Form):
    """The launch wizard's last step: 立即上线 (now) or 定时上线 at `starts_at`."""

    when = forms.ChoiceField(
        choices=[("now", _("立即上线")), ("later", _("定时上线"))],
        error_messages={"required": _("请选择立即上线或定时上线。"), "invalid_choice": _("请选择立即上线或定时上线。")},
    )
    starts_at = forms.DateTimeField(
        label=_("上线时间"),
        widget=DATETIME_INPUT,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"invalid": _("请输入正确的时间。")},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") == "later" and not cleaned.get("starts_at") and "starts_at" not in self.errors:
            self.add_error("starts_at", _("定时上线请填写上线时间。"))
        return cleaned
