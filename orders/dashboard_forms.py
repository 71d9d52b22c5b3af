"""Dashboard forms for the catalog, orders and after-sales. They check input shape; services decide."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from groups.models import Group
from shequn.bounds import MAX_PER_MEMBER_LIMIT, MAX_USAGE_CYCLE_DAYS
from shops.models import Shop

from .catalog import MAX_STOCK
from .models import CaseState, OrderState, Product
from .selectors import products_for_shop


def _shop_groups(shop: Shop):
    # Only id and name are needed for a choice list: groups.selectors.groups_for_shop counts
    # memberships for every group, which a select box does not need.
    return Group.objects.filter(shop=shop).only("pk", "name").order_by("-created_at", "-pk")


class ProductForm(forms.Form):
    name = forms.CharField(label=_("商品名称"), max_length=Product._meta.get_field("name").max_length)
    category = forms.CharField(label=_("类目"), max_length=30, required=False, help_text=_("如 辅食、护肤、日用"))
    description = forms.CharField(label=_("介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    usage_cycle_days = forms.IntegerField(
        label=_("使用周期（天）"),
        min_value=1,
        max_value=MAX_USAGE_CYCLE_DAYS,
        initial=30,
        help_text=_("一件商品大约能用多少天，用于复购提醒。"),
    )
    is_active = forms.BooleanField(label=_("上架"), required=False, initial=True)
    offered_to_all_groups = forms.BooleanField(
        label=_("对本店所有群可见"), required=False, initial=True, help_text=_("不勾选时，只在下面选中的群里销售。")
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("指定群"), queryset=Group.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    # A plain file field: shequn.images.clean_image (called by the catalog service) decides what
    # an image is and how large it may be, with its own message.
    image = forms.FileField(
        label=_("添加图片"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_("JPG、PNG 或 WebP 图片，会自动生成缩略图。"),
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = _shop_groups(shop)

    @classmethod
    def initial_for(cls, product: Product) -> dict:
        return {
            "name": product.name,
            "category": product.category,
            "description": product.description,
            "usage_cycle_days": product.usage_cycle_days,
            "is_active": product.is_active,
            "offered_to_all_groups": product.offered_to_all_groups,
            "groups": list(product.groups.all()),
        }

    def product_values(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "name",
                "description",
                "category",
                "is_active",
                "usage_cycle_days",
                "offered_to_all_groups",
                "groups",
            )
        }


class SkuForm(forms.Form):
    spec = forms.CharField(label=_("规格"), max_length=40)
    price = forms.DecimalField(label=_("价格（元）"), max_digits=12, decimal_places=2)
    per_member_limit = forms.IntegerField(
        label=_("每人限购"),
        required=False,
        min_value=1,
        max_value=MAX_PER_MEMBER_LIMIT,
        help_text=_("留空表示不限购。"),
    )
    is_active = forms.BooleanField(label=_("可售"), required=False, initial=True)

    def sku_values(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("spec", "price", "per_member_limit", "is_active")}


class NewSkuForm(SkuForm):
    stock = forms.IntegerField(label=_("初始库存"), min_value=0, max_value=MAX_STOCK, initial=0)

    field_order = ["spec", "price", "stock", "per_member_limit", "is_active"]

    def sku_values(self) -> dict:
        return {**super().sku_values(), "stock": self.cleaned_data["stock"]}


class StockForm(forms.Form):
    delta = forms.IntegerField(
        label=_("库存增减"), min_value=-MAX_STOCK, max_value=MAX_STOCK, help_text=_("正数为补货，负数为减少。")
    )

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError(_("请填写不为 0 的数量。"))
        return delta


class PickupPointForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=60)
    address = forms.CharField(label=_("地址"), max_length=200)
    opening_hours = forms.CharField(
        label=_("营业时间"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("例如：每天 9:00–21:00")}),
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class OrderFilterForm(forms.Form):
    """GET filters of the order list and the CSV export. A value that does not parse is ignored (and shown)."""

    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态"))] + OrderState.choices)
    group = forms.ModelChoiceField(
        label=_("群"), required=False, queryset=Group.objects.none(), empty_label=_("全部群")
    )
    product = forms.ModelChoiceField(
        label=_("商品"), required=False, queryset=Product.objects.none(), empty_label=_("全部商品")
    )
    date_from = forms.DateField(
        label=_("下单日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    member = forms.CharField(
        label=_("会员"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("会员昵称/收货人/手机尾号")}),
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = _shop_groups(shop)
        # Names only: drop the selector's SKU/image/group prefetches.
        self.fields["product"].queryset = products_for_shop(shop).prefetch_related(None).only("pk", "name")

    def filters(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data  # holds the fields that parsed
        return {
            "state": data.get("state") or None,
            "group_id": data["group"].pk if data.get("group") else None,
            "product_id": data["product"].pk if data.get("product") else None,
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "member": (data.get("member") or "").strip() or None,
        }


class ShipForm(forms.Form):
    tracking_number = forms.CharField(label=_("运单号"), max_length=40, required=False)


class PartRefundForm(forms.Form):
    """A partial refund by an operator (部分退款); `key` is rendered with the page, so a second submit of the
    same page refunds once."""

    amount = forms.DecimalField(label=_("退款金额（元）"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("原因"), max_length=200)
    key = forms.CharField(max_length=40, widget=forms.HiddenInput)


class ReasonForm(forms.Form):
    """Cancel and refund: a reason, optional here; the service refuses a missing one where it is required."""

    reason = forms.CharField(label=_("原因"), max_length=200, required=False)

    def __init__(self, *args, placeholder: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs.update(
            placeholder=placeholder or self.fields["reason"].label, style="width: 260px"
        )


CASE_FILTER_ALL = "all"


class CaseFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("状态"), required=False, choices=CaseState.choices + [(CASE_FILTER_ALL, _("全部"))]
    )

    def state_filter(self) -> str | None:
        """Open cases unless another state (or all) is asked for."""
        state = self.cleaned_data.get("state") if self.is_valid() else ""
        if state == CASE_FILTER_ALL:
            return None
        return state or CaseState.OPEN


class CloseCaseForm(forms.Form):
    resolution = forms.CharField(
        label=_("处理结果"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    resolved = forms.TypedChoiceField(
        label=_("结论"),
        choices=[("yes", _("已解决")), ("no", _("驳回"))],
        coerce=lambda value: value == "yes",
        initial="yes",
        widget=forms.RadioSelect,
    )
