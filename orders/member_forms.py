"""Members' order forms. They check the shape of the input; orders.services decides everything else."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.phones import normalize_mainland_phone
from shops.models import Shop

from . import selectors
from .models import Delivery, Order
from .services import MAX_QUANTITY, DeliveryRequest, LineRequest

MAX_LINES = 20
# Postgres integer columns: a bigger "id" from a tampered form must be refused, not reach the database.
MAX_ID = 2**31 - 1


def parse_lines(data) -> list[LineRequest]:
    """The lines of an order from repeated `sku` / `qty` parameters; the same SKU twice is added up."""
    sku_ids, quantities = data.getlist("sku"), data.getlist("qty")
    if not sku_ids or len(sku_ids) != len(quantities) or len(sku_ids) > MAX_LINES:
        raise ValidationError(_("请选择要购买的规格和数量。"))
    wanted: dict[int, int] = {}
    for raw_sku, raw_quantity in zip(sku_ids, quantities, strict=True):
        try:
            sku_id, quantity = int(raw_sku), int(raw_quantity)
        except (TypeError, ValueError):
            raise ValidationError(_("请选择要购买的规格，数量填写整数。")) from None
        if not 0 < sku_id <= MAX_ID or not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(_("每件商品的数量必须是 1–999 之间的整数。"))
        wanted[sku_id] = wanted.get(sku_id, 0) + quantity
    return [LineRequest(sku_id=sku_id, quantity=quantity) for sku_id, quantity in wanted.items()]


class CheckoutForm(forms.Form):
    """Delivery and note of the order confirmation page. The lines and the idempotency key travel beside it."""

    delivery = forms.ChoiceField(
        label=_("配送方式"),
        choices=Delivery.choices,
        initial=Delivery.SHIPPING,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择配送方式。"), "invalid_choice": _("请选择配送方式。")},
    )
    recipient_name = forms.CharField(
        label=_("联系人"),
        max_length=Order._meta.get_field("recipient_name").max_length,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    recipient_phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "tel"}),
    )
    address = forms.CharField(
        label=_("收货地址"),
        max_length=Order._meta.get_field("address").max_length,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "autocomplete": "street-address", "placeholder": _("省 市 区 街道 门牌号")}
        ),
    )
    pickup_point = forms.ModelChoiceField(
        label=_("自提点"),
        queryset=None,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("请选择本店有效的自提点。")},
    )
    note = forms.CharField(
        label=_("备注"),
        max_length=Order._meta.get_field("note").max_length,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("选填，如送货时间")}),
    )

    def __init__(self, *args, shop: Shop, options: list[dict] = (), **kwargs):
        super().__init__(*args, **kwargs)
        # What the pricing plug-ins offer (shequn.hooks.pricing_options): one choice field each, named by its key.
        self.choice_keys = []
        for option in options:
            key = option["key"]
            if key in self.fields:
                continue
            if option.get("max") is not None:  # a whole number the member types (how many points), 0…max
                self.fields[key] = forms.IntegerField(
                    label=option["label"],
                    min_value=0,
                    max_value=option["max"],
                    initial=option.get("initial") or None,
                    required=False,
                    help_text=option.get("help", ""),
                    widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "placeholder": "0"}),
                    error_messages={
                        "max_value": _("超出本单可用数量：最多 %(limit_value)s。"),
                        "min_value": _("请填写 0 或正整数。"),
                        "invalid": _("请填写 0 或正整数。"),
                    },
                )
            else:
                self.fields[key] = forms.ChoiceField(
                    label=option["label"],
                    choices=option["choices"],
                    initial=option.get("initial", ""),
                    required=False,
                    help_text=option.get("help", ""),
                )
            self.choice_keys.append(key)
        points = selectors.pickup_points_for_shop(shop, active_only=True)
        self.fields["pickup_point"].queryset = points
        self.has_pickup_points = points.exists()
        if not self.has_pickup_points:
            self.fields["delivery"].choices = [(Delivery.SHIPPING.value, Delivery.SHIPPING.label)]

    def clean_recipient_phone(self) -> str:
        phone = self.cleaned_data["recipient_phone"].strip()
        # Stored as the 11 digits a courier dials.
        return normalize_mainland_phone(phone).removeprefix("+86") if phone else ""

    def clean(self):
        data = super().clean()
        if not data.get("recipient_name", "").strip() and "recipient_name" not in self.errors:
            self.add_error("recipient_name", _("请填写联系人姓名。"))
        if not data.get("recipient_phone") and "recipient_phone" not in self.errors:
            self.add_error("recipient_phone", _("请填写联系人手机号。"))
        if data.get("delivery") == Delivery.SHIPPING and not data.get("address", "").strip():
            if "address" not in self.errors:
                self.add_error("address", _("请填写收货地址。"))
        if data.get("delivery") == Delivery.PICKUP and not data.get("pickup_point"):
            if "pickup_point" not in self.errors:
                self.add_error("pickup_point", _("请选择自提点。"))
        return data

    def pricing_choices(self) -> dict[str, str]:
        """The member's choices for the pricing plug-ins ({"points": "300"}); the initial ones before a submit."""
        if self.is_bound and hasattr(self, "cleaned_data"):
            return {key: str(self.cleaned_data.get(key) or "") for key in self.choice_keys}
        return {key: str(self.fields[key].initial or "") for key in self.choice_keys}

    @property
    def choice_fields(self):
        return [self[key] for key in self.choice_keys]

    def delivery_request(self) -> DeliveryRequest:
        data = self.cleaned_data
        if data["delivery"] == Delivery.PICKUP:
            return DeliveryRequest(
                method=Delivery.PICKUP,
                recipient_name=data["recipient_name"].strip(),
                recipient_phone=data["recipient_phone"],
                pickup_point_id=data["pickup_point"].pk,
            )
        return DeliveryRequest(
            method=Delivery.SHIPPING,
            recipient_name=data["recipient_name"].strip(),
            recipient_phone=data["recipient_phone"],
            address=data["address"].strip(),
        )


class CancelForm(forms.Form):
    REASONS = [
        ("", _("不说了")),
        ("不想要了", _("不想要了")),
        ("信息填写错误", _("信息填写错误")),
        ("重复下单", _("重复下单")),
        ("其他", _("其他")),
    ]
    reason = forms.ChoiceField(label=_("取消原因"), choices=REASONS, required=False, widget=forms.RadioSelect)


class RefundForm(forms.Form):
    reason = forms.CharField(
        label=_("退款原因"),
        max_length=200,
        error_messages={"required": _("请填写退款原因。")},
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("例如：商品与描述不符、不想要了")}),
    )


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe); each is checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class CaseForm(forms.Form):
    reason = forms.CharField(
        label=_("问题描述"),
        max_length=1000,
        error_messages={"required": _("请描述遇到的问题。")},
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _("例如：收到时包装破损、少发了一件")}),
    )
    photos = MultipleFileField(label=_("照片"), required=False, help_text=_("最多 6 张 JPG、PNG 或 WebP 图片。"))
