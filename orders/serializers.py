"""JSON shapes of the orders API. Serializers parse and render only; every rule lives in orders.services
and orders.catalog (stock, prices, limits, delivery, who may do what to which order).

People appear by `public_name`, never by their account phone number. The phone a member gave for one
order's delivery (`recipient_phone`) is shown to that member and to the shop that ships it.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.phones import normalize_mainland_phone
from groups.models import Group
from shequn.serializers import PersonSerializer, RefSerializer, absolute, person

from .catalog import MAX_STOCK
from .lifecycle import ALLOWED_TRANSITIONS
from .models import (
    AdjustmentKind,
    AfterSalesCase,
    CaseState,
    Delivery,
    Order,
    OrderLine,
    OrderState,
    OrderTransition,
    Payment,
    PickupPoint,
    Product,
    ProductImage,
    Refund,
    Sku,
)
from .services import MAX_QUANTITY

MAX_ID = 2**31 - 1  # ids beyond this cannot exist; refusing them here keeps them out of SQL
# A sane bound on one stock figure or change; it keeps a typo (or a hostile number) from overflowing the column.
MAX_CASE_PHOTOS = 9
MONEY = {"max_digits": 12, "decimal_places": 2}


# --- Catalog: what members see --------------------------------------------------------------------


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "thumbnail_url", "position"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, image) -> str:
        return absolute(self.context.get("request"), image.image.url)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, image) -> str:
        return absolute(self.context.get("request"), image.thumbnail.url)


class MemberSkuSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY, read_only=True, help_text="单价（元）。")

    class Meta:
        model = Sku
        fields = ["id", "spec", "price", "stock", "per_member_limit"]
        read_only_fields = fields


class MemberProductSerializer(serializers.ModelSerializer):
    """A product on sale in a group, with its SKUs that can be bought (orders.selectors.products_for_group)."""

    images = ProductImageSerializer(many=True, read_only=True)
    skus = MemberSkuSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "description", "category", "usage_cycle_days", "images", "skus"]
        read_only_fields = fields


class PickupPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickupPoint
        fields = ["id", "name", "address", "opening_hours"]
        read_only_fields = fields


# --- Orders: shared pieces ------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    """What was bought, as the member saw it when ordering (kept even if the catalog changes)."""

    unit_price = serializers.DecimalField(**MONEY, read_only=True)
    line_total = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "sku_id",
            "product_id",
            "product_name",
            "spec",
            "unit_price",
            "quantity",
            "line_total",
            "adjustment_amount",
            "refunded_amount",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "adjustment_amount": {"help_text": "这一行分摊到的优惠（负）与费用（正），元。"},
            "refunded_amount": {"help_text": "分摊到这一行的退款（处理中与已退），元。"},
        }


class AdjustmentSerializer(serializers.Serializer):
    """One adjustment of an order's price (orders.pricing): negative a discount, positive a charge."""

    kind = serializers.ChoiceField(choices=AdjustmentKind.choices, read_only=True)
    source = serializers.CharField(read_only=True, help_text="谁做的调整，如 coupon:12、points:300。")
    amount = serializers.DecimalField(**MONEY, read_only=True, help_text="金额（元）：负数为优惠，正数为费用。")
    reason = serializers.CharField(read_only=True)


class OrderTransitionOptionSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=OrderState.choices, read_only=True)
    label = serializers.CharField(read_only=True)


def allowed_transitions(order: Order) -> list[dict]:
    return [
        {"to_state": s, "label": str(OrderState(s).label)}
        for s in OrderState.values
        if s in ALLOWED_TRANSITIONS[order.state]
    ]


class OrderMoneyMixin(serializers.Serializer):
    subtotal = serializers.DecimalField(**MONEY, read_only=True, help_text="商品金额（元）。")
    discount = serializers.DecimalField(**MONEY, read_only=True, help_text="优惠（元）：各项优惠调整之和。")
    charges = serializers.DecimalField(**MONEY, read_only=True, help_text="附加费用（元）：如运费。")
    total = serializers.DecimalField(
        **MONEY, read_only=True, help_text="应付金额（元）= subtotal − discount + charges。"
    )
    paid_amount = serializers.DecimalField(
        **MONEY, read_only=True, help_text="已付金额（元）：成功支付之和，含重复或逾期付款。"
    )
    refunded_amount = serializers.DecimalField(
        **MONEY,
        read_only=True,
        help_text="已退回的金额（元）：状态为 succeeded 的退款之和，含退回的重复或逾期付款；"
        "paid_amount − refunded_amount 是商家实际收下的钱。",
    )


class PaymentSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "provider", "provider_ref", "amount", "currency", "state", "created_at", "succeeded_at"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "amount", "state", "reason", "created_at", "succeeded_at"]
        read_only_fields = fields


class CasePhotoUrlsField(serializers.ListField):
    """The URLs of an after-sales case's photos (prefetched with the case)."""

    child = serializers.URLField()

    def to_representation(self, photos):
        request = self.context.get("request")
        return [absolute(request, photo.image.url) for photo in photos.all()]


class CaseSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = AfterSalesCase
        fields = ["id", "state", "reason", "resolution", "created_at", "closed_at"]
        read_only_fields = fields


# --- Orders: the member's own ---------------------------------------------------------------------


class MyOrderListSerializer(OrderMoneyMixin, serializers.ModelSerializer):
    """A row of "my orders" (orders.selectors.orders_for_member)."""

    shop_name = serializers.CharField(source="shop.name", read_only=True)
    group = RefSerializer(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "state",
            "shop_name",
            "group",
            "lines",
            "subtotal",
            "discount",
            "total",
            "paid_amount",
            "refunded_amount",
            "currency",
            "delivery",
            "created_at",
            "pay_deadline",
            "paid_at",
        ]
        read_only_fields = fields


class MyOrderTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderTransition
        fields = ["from_state", "to_state", "reason", "at"]
        read_only_fields = fields


class MyCaseSerializer(serializers.ModelSerializer):
    """An after-sales case the member opened."""

    order_id = serializers.IntegerField(read_only=True)
    photos = CasePhotoUrlsField(read_only=True)

    class Meta:
        model = AfterSalesCase
        fields = ["id", "order_id", "state", "reason", "photos", "resolution", "created_at", "closed_at"]
        read_only_fields = fields


class MyOrderDetailSerializer(MyOrderListSerializer):
    """The member's own order with its delivery, history, payments, refunds and after-sales cases."""

    pickup_point = PickupPointSerializer(read_only=True, allow_null=True)
    allowed_transitions = serializers.SerializerMethodField(help_text="当前状态下订单可以转到的状态。")
    transitions = MyOrderTransitionSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    after_sales_cases = MyCaseSerializer(many=True, read_only=True)
    adjustments = AdjustmentSerializer(many=True, read_only=True)

    class Meta(MyOrderListSerializer.Meta):
        fields = [
            *MyOrderListSerializer.Meta.fields,
            "charges",
            "adjustments",
            "allowed_transitions",
            "recipient_name",
            "recipient_phone",
            "address",
            "pickup_point",
            "note",
            "tracking_number",
            "transitions",
            "payments",
            "refunds",
            "after_sales_cases",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderTransitionOptionSerializer(many=True))
    def get_allowed_transitions(self, order):
        return allowed_transitions(order)


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="SKU 的 id。")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, help_text="数量，1–999。")


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """An uploaded file (multipart); the service stores it through shequn.images, which decides what an image is."""


class RecipientPhoneField(serializers.CharField):
    """A mainland mobile number, kept as its 11 digits as the member checkout form does; blank allowed."""

    def __init__(self, **kwargs):
        kwargs.update(max_length=20, required=False, allow_blank=True, default="")
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data).strip()
        if not value:
            return ""
        try:
            return normalize_mainland_phone(value).removeprefix("+86")
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class PlaceOrderSerializer(serializers.Serializer):
    """An order from a group. Field names match the errors orders.services.place_order gives."""

    lines = OrderLineInputSerializer(many=True, allow_empty=True, max_length=100)
    delivery = serializers.ChoiceField(choices=Delivery.choices, help_text="shipping 快递配送，pickup 到店自提。")
    recipient_name = serializers.CharField(
        max_length=30, required=False, allow_blank=True, default="", help_text="收货人；快递配送必填。"
    )
    recipient_phone = RecipientPhoneField(help_text="收货手机号；快递配送必填。")
    address = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="收货地址；快递配送必填。"
    )
    pickup_point = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="自提点 id；到店自提必填。",
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    choices = serializers.DictField(
        child=serializers.CharField(max_length=60, allow_blank=True),
        required=False,
        default=dict,
        help_text='结账时的优惠选择，键由各插件定义（见 quote 接口的 options），如 {"points": "300"}。',
    )


class QuoteRequestSerializer(serializers.Serializer):
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=100)
    choices = serializers.DictField(
        child=serializers.CharField(max_length=60, allow_blank=True), required=False, default=dict
    )


class PricingOptionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="在 choices 中使用的键。")
    label = serializers.CharField()
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()), help_text="[值, 说明]")
    initial = serializers.CharField(help_text="预选的值（空：不选）。")
    help = serializers.CharField(required=False, help_text="说明，如积分余额。")
    balance = serializers.IntegerField(required=False, help_text="积分余额（积分抵扣才有）。")


class QuoteSerializer(serializers.Serializer):
    """What the order would cost with these choices, and what the checkout can offer."""

    subtotal = serializers.DecimalField(**MONEY)
    adjustments = AdjustmentSerializer(many=True)
    discount = serializers.DecimalField(**MONEY)
    charges = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    options = PricingOptionSerializer(many=True)


class PaymentStartSerializer(serializers.Serializer):
    pay_url = serializers.URLField(help_text="会员去付款的地址（收银台）。")
    payment = PaymentSerializer()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="原因（取消时选填）。"
    )


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="原因（必填）。")


class OpenCaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="遇到的问题。")
    photos = serializers.ListField(
        child=UploadField(),
        required=False,
        default=list,
        max_length=MAX_CASE_PHOTOS,
        help_text=f"照片（JPG、PNG 或 WebP），最多 {MAX_CASE_PHOTOS} 张。",
    )


# --- Catalog: the shop's --------------------------------------------------------------------------


class ShopSkuSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Sku
        fields = ["id", "product_id", "spec", "price", "stock", "per_member_limit", "is_active"]
        read_only_fields = fields


class ShopProductSerializer(serializers.ModelSerializer):
    """A product of the shop with all its SKUs (active or not), images and the groups it is offered to."""

    images = ProductImageSerializer(many=True, read_only=True)
    skus = ShopSkuSerializer(many=True, read_only=True)
    groups = RefSerializer(many=True, read_only=True, help_text="指定销售的群（offered_to_all_groups 为 false 时）。")

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "description",
            "category",
            "is_active",
            "usage_cycle_days",
            "offered_to_all_groups",
            "groups",
            "images",
            "skus",
            "created_at",
        ]
        read_only_fields = fields


class ShopGroupIdsField(serializers.PrimaryKeyRelatedField):
    """A group id that must belong to the operator's shop (the view passes `shop` in the context)."""

    queryset = Group.objects.none()  # only for the schema's type; the real choices come from get_queryset

    def get_queryset(self):
        return Group.objects.filter(shop=self.context["shop"])


class ProductWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(max_length=30, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="上架；默认 true。")
    usage_cycle_days = serializers.IntegerField(
        required=False, max_value=36500, help_text="一件商品大约能用多少天，用于复购提醒；默认 30。"
    )
    offered_to_all_groups = serializers.BooleanField(required=False, help_text="对本店所有群可见；默认 true。")
    groups = ShopGroupIdsField(
        many=True,
        required=False,
        help_text="只在这些群销售（本店群的 id）；offered_to_all_groups 为 false 时至少一个。",
    )


class ProductImageUploadSerializer(serializers.Serializer):
    image = UploadField(help_text="JPG、PNG 或 WebP 图片，会自动生成缩略图。")
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=32767, default=None, allow_null=True, help_text="顺序；默认排在最后。"
    )


class SkuWriteSerializer(serializers.Serializer):
    spec = serializers.CharField(max_length=40, help_text="规格，如 500g。")
    price = serializers.DecimalField(**MONEY, help_text="价格（元）。")
    per_member_limit = serializers.IntegerField(
        required=False, allow_null=True, max_value=MAX_ID, help_text="每人限购；null 表示不限购。"
    )
    is_active = serializers.BooleanField(required=False, help_text="可售；默认 true。")


class SkuCreateSerializer(SkuWriteSerializer):
    stock = serializers.IntegerField(max_value=MAX_STOCK, help_text="初始库存；之后用 /stock/ 调整。")


class StockAdjustSerializer(serializers.Serializer):
    delta = serializers.IntegerField(min_value=-MAX_STOCK, max_value=MAX_STOCK, help_text="正数为补货，负数为减少。")

    def validate_delta(self, delta: int) -> int:
        if delta == 0:
            raise serializers.ValidationError(_("请填写不为 0 的数量。"))
        return delta


class ShopPickupPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickupPoint
        fields = ["id", "name", "address", "opening_hours", "is_active"]
        read_only_fields = fields


class PickupPointWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    address = serializers.CharField(max_length=200)
    opening_hours = serializers.CharField(max_length=60, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="启用；默认 true。")


# --- Orders: the shop's ---------------------------------------------------------------------------


class PickupPointRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)


class ShopOrderListSerializer(OrderMoneyMixin, serializers.ModelSerializer):
    """A row of the shop's order list (orders.selectors.orders_for_shop)."""

    group = RefSerializer(read_only=True)
    member = serializers.SerializerMethodField()
    referrer = serializers.SerializerMethodField(help_text="带来这位会员的人（推荐关系），没有时为 null。")
    pickup_point = PickupPointRefSerializer(read_only=True, allow_null=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "state",
            "group",
            "member",
            "referrer",
            "source",
            "lines",
            "subtotal",
            "discount",
            "total",
            "paid_amount",
            "refunded_amount",
            "currency",
            "delivery",
            "recipient_name",
            "recipient_phone",
            "address",
            "pickup_point",
            "tracking_number",
            "created_at",
            "pay_deadline",
            "paid_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_member(self, order):
        return person(order.member)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_referrer(self, order):
        return person(order.referrer)


class ShopOrderTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField(help_text="操作人；支付渠道或定时任务时为 null。")

    class Meta:
        model = OrderTransition
        fields = ["from_state", "to_state", "by", "reason", "at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_by(self, transition):
        return person(transition.by)


class ShopOrderDetailSerializer(ShopOrderListSerializer):
    """An order of the shop with its history, payments, refunds and after-sales cases."""

    allowed_transitions = serializers.SerializerMethodField(help_text="当前状态下订单可以转到的状态。")
    transitions = ShopOrderTransitionSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    after_sales_cases = CaseSummarySerializer(many=True, read_only=True)

    class Meta(ShopOrderListSerializer.Meta):
        fields = [
            *ShopOrderListSerializer.Meta.fields,
            "allowed_transitions",
            "note",
            "transitions",
            "payments",
            "refunds",
            "after_sales_cases",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderTransitionOptionSerializer(many=True))
    def get_allowed_transitions(self, order):
        return allowed_transitions(order)


class OrderFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=OrderState.choices, required=False, help_text="只看此状态的订单。")
    group = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="只看此群（id）的订单。")
    date_from = serializers.DateField(required=False, help_text="下单日期不早于（含）。")
    date_to = serializers.DateField(required=False, help_text="下单日期不晚于（含）。")
    member = serializers.CharField(required=False, max_length=30, help_text="会员昵称、手机号尾号或收货人。")
    product = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="只看含此商品（id）的订单。"
    )

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": _("结束日期不能早于开始日期。")})
        return attrs


class MyOrderFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=OrderState.choices, required=False, help_text="只看此状态的订单。")


class ShipSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="运单号；快递订单必填，自提订单可不填。"
    )


class OrderRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    state = serializers.ChoiceField(choices=OrderState.choices, read_only=True)


class ShopCaseSerializer(serializers.ModelSerializer):
    """An after-sales case in the shop's queue (orders.selectors.cases_for_shop)."""

    order = OrderRefSerializer(read_only=True)
    member = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()
    photos = CasePhotoUrlsField(read_only=True)

    class Meta:
        model = AfterSalesCase
        fields = [
            "id",
            "order",
            "member",
            "state",
            "reason",
            "photos",
            "resolution",
            "resolved_by",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_member(self, case):
        return person(case.member)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_resolved_by(self, case):
        return person(case.resolved_by)


class CaseFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=CaseState.choices, required=False, help_text="只看此状态的售后。")


class CloseCaseSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=2000, help_text="处理结果。")
    resolved = serializers.BooleanField(default=True, help_text="true 为已解决，false 为驳回。")
