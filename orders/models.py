"""Catalog, orders, payments, refunds and after-sales.

Invariants the database holds (services rely on them):
- stock never goes negative; prices, quantities and amounts are positive Decimals (two places);
- one order per (member, idempotency key); one processing per provider notification;
- one refund per refund key, so "refund this order" can run any number of times and pay out once.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Group
from shequn.bounds import MAX_PER_MEMBER_LIMIT, MAX_USAGE_CYCLE_DAYS
from shops.models import Shop

ZERO = Decimal("0.00")


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


# --- Catalog -------------------------------------------------------------------------------------


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("商品名称"), max_length=80)
    description = models.TextField(_("介绍"), blank=True)
    category = models.CharField(_("类目"), max_length=30, blank=True)
    is_active = models.BooleanField(_("上架"), default=True)
    usage_cycle_days = models.PositiveIntegerField(
        _("使用周期（天）"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("一件商品大约能用多少天，用于复购提醒。"),
    )
    offered_to_all_groups = models.BooleanField(_("对本店所有群可见"), default=True)
    groups = models.ManyToManyField(Group, blank=True, related_name="offered_products", verbose_name=_("指定群"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_cycle_days__gte=1, usage_cycle_days__lte=MAX_USAGE_CYCLE_DAYS),
                name="product_usage_cycle_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("图片"), upload_to="products/%Y/%m/")
    thumbnail = models.ImageField(_("缩略图"), upload_to="products/thumbs/%Y/%m/")
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("商品图片")
        verbose_name_plural = _("商品图片")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position}"


class Sku(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    spec = models.CharField(_("规格"), max_length=40)
    price = money_field(_("价格（元）"))
    stock = models.IntegerField(_("库存"), default=0)
    per_member_limit = models.PositiveIntegerField(
        _("每人限购"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("可售"), default=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKU")
        ordering = ["product", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__gte=0),
                name="sku_stock_never_negative",
                violation_error_message=_("库存不能为负数。"),
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0), name="sku_price_positive", violation_error_message=_("价格必须大于 0。")
            ),
            models.CheckConstraint(
                condition=Q(per_member_limit__isnull=True)
                | Q(per_member_limit__gte=1, per_member_limit__lte=MAX_PER_MEMBER_LIMIT),
                name="sku_per_member_limit_in_range",
            ),
            models.UniqueConstraint(fields=["product", "spec"], name="sku_spec_unique_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.spec}"


class PickupPoint(models.Model):
    """自提点: a place the shop defines where members collect orders."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="pickup_points")
    name = models.CharField(_("名称"), max_length=60)
    address = models.CharField(_("地址"), max_length=200)
    opening_hours = models.CharField(_("营业时间"), max_length=60, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("自提点")
        verbose_name_plural = _("自提点")

    def __str__(self) -> str:
        return self.name


# --- Orders --------------------------------------------------------------------------------------


class OrderState(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("待付款")
    PAID = "paid", _("已付款")
    SHIPPED = "shipped", _("已发货")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")
    REFUND_REQUESTED = "refund_requested", _("退款申请中")
    REFUNDED = "refunded", _("已退款")
    REFUND_REJECTED = "refund_rejected", _("退款被拒")


class Delivery(models.TextChoices):
    SHIPPING = "shipping", _("快递配送")
    PICKUP = "pickup", _("到店自提")
    # A paid group entry (入群费, orders.entry): money for a seat, nothing to ship or collect.
    NONE = "none", _("无需配送")


class Order(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="orders", verbose_name=_("下单群"))
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("会员")
    )
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_orders",
        verbose_name=_("推荐人"),
    )
    number = models.CharField(_("订单号"), max_length=24, unique=True)
    state = models.CharField(_("状态"), max_length=20, choices=OrderState.choices, default=OrderState.PENDING_PAYMENT)
    # Where the order came from besides the group (a campaign, a reminder…): set by the plug-in that made it.
    source = models.CharField(_("来源"), max_length=40, blank=True)
    subtotal = money_field(_("商品金额"))
    # The order's adjustments (orders.pricing, one OrderAdjustment row each), split by sign: total =
    # subtotal − discount + charges = subtotal + the sum of the adjustments.
    discount = money_field(_("优惠"), default=ZERO)
    charges = money_field(_("附加费用"), default=ZERO, db_default=ZERO)
    total = money_field(_("应付金额"))
    # The order's money as the ledger has it, kept equal to its Payment and Refund rows at every moment:
    # each is updated under the order's row lock in the transaction that makes a payment or refund
    # succeed (orders.services), and checked against the ledger by orders.reconciliation.
    paid_amount = money_field(_("已付金额"), default=ZERO, help_text=_("成功支付之和（含重复或逾期付款）。"))
    refunded_amount = money_field(
        _("已退金额"), default=ZERO, help_text=_("实际退回给会员的金额：成功退款之和（含退回的重复或逾期付款）。")
    )
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    delivery = models.CharField(_("配送方式"), max_length=10, choices=Delivery.choices)
    recipient_name = models.CharField(_("收货人"), max_length=30, blank=True)
    recipient_phone = models.CharField(_("收货电话"), max_length=16, blank=True)
    address = models.CharField(_("收货地址"), max_length=200, blank=True)
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("自提点")
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    tracking_number = models.CharField(_("运单号"), max_length=40, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=64)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    pay_deadline = models.DateTimeField(_("付款截止"))
    # Set once, by the one transition that gives the reserved stock back (cancel or refund).
    stock_returned_at = models.DateTimeField(_("库存已退回"), null=True, blank=True)
    created_at = models.DateTimeField(_("下单时间"), default=timezone.now)
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["shop", "state", "created_at"]),
            models.Index(fields=["member", "created_at"]),
            models.Index(fields=["state", "pay_deadline"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member", "idempotency_key"], name="order_idempotency_per_member"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount") + F("charges")), name="order_total_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(discount__gte=0) & Q(charges__gte=0), name="order_amounts_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("paid_amount")),
                name="order_refunds_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(delivery="pickup", pickup_point__isnull=False)
                | Q(delivery="shipping") & ~Q(address="")
                | Q(delivery="none", pickup_point__isnull=True, address=""),
                name="order_has_a_delivery_target",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="order_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    # What the member saw when ordering, kept even if the catalog changes later.
    product_name = models.CharField(_("商品"), max_length=80)
    spec = models.CharField(_("规格"), max_length=40)
    unit_price = money_field(_("单价"))
    quantity = models.PositiveIntegerField(_("数量"))
    line_total = money_field(_("小计"))
    # This line's part of the order's adjustments (orders.pricing, split to the fen): what was paid for the
    # line is line_total + adjustment_amount, and refunds are split over the lines by it, never beyond it.
    adjustment_amount = money_field(_("分摊优惠/费用"), default=ZERO, db_default=ZERO)
    # The line's part of the order's refunds that are pending or succeeded (a failed refund gives its part back).
    refunded_amount = money_field(_("已分摊退款"), default=ZERO, db_default=ZERO)

    class Meta:
        verbose_name = _("订单行")
        verbose_name_plural = _("订单行")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(line_total=F("unit_price") * F("quantity")), name="order_line_total_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(line_total__gte=-F("adjustment_amount")), name="order_line_paid_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("line_total") + F("adjustment_amount")),
                name="order_line_refunds_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} {self.spec} × {self.quantity}"

    @property
    def amount_paid(self) -> Decimal:
        """What the member pays for this line: its total and its part of the adjustments."""
        return self.line_total + self.adjustment_amount

    @property
    def refundable(self) -> Decimal:
        return self.amount_paid - self.refunded_amount


class AdjustmentKind(models.TextChoices):
    COUPON = "coupon", _("优惠券")
    CAMPAIGN_PRICE = "campaign_price", _("活动价")
    POINTS = "points", _("积分抵扣")
    SHIPPING = "shipping", _("运费")
    GIFT = "gift", _("赠送")


class OrderAdjustment(models.Model):
    """One change to an order's price (订单价格调整): a discount (negative) or a charge (positive), with who
    made it and why, written with the order by orders.pricing before the order_created hook runs."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(_("类型"), max_length=20, choices=AdjustmentKind.choices)
    # Who made it ("coupon:12", "points", "campaign:7"): its owner finds its own row by this.
    source = models.CharField(_("来源"), max_length=60)
    amount = money_field(_("金额"), help_text=_("负数为优惠，正数为费用。"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    # The line it was put on; None: spread over every line (the split is in `shares`).
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # {sku_id: amount} — this adjustment's part on each line, to the fen; the parts add up to `amount`.
    shares = models.JSONField(_("分摊"), default=dict)
    position = models.PositiveSmallIntegerField(_("顺序"))

    class Meta:
        verbose_name = _("订单价格调整")
        verbose_name_plural = _("订单价格调整")
        ordering = ["order", "position"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="order_adjustment_not_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=[kind.value for kind in AdjustmentKind]), name="order_adjustment_kind_known"
            ),
            models.UniqueConstraint(fields=["order", "position"], name="order_adjustment_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def discount(self) -> bool:
        return self.amount < 0

    @property
    def size(self) -> Decimal:
        return abs(self.amount)


class OrderTransition(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(_("原状态"), max_length=20, choices=OrderState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=OrderState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人")
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("订单状态变更")
        verbose_name_plural = _("订单状态变更")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} → {self.to_state}"


# --- Payments and refunds ------------------------------------------------------------------------


class PaymentState(models.TextChoices):
    CREATED = "created", _("待支付")
    SUCCEEDED = "succeeded", _("支付成功")
    FAILED = "failed", _("支付失败")


# The payment providers in words (orders.payments has the providers themselves).
PROVIDER_LABELS = {"wechatpay": _("微信支付"), "alipay": _("支付宝"), "simulated": _("模拟支付")}


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(_("支付渠道"), max_length=20)
    provider_ref = models.CharField(_("渠道流水号"), max_length=64, unique=True)
    # The shop's merchant account the money goes to (none for the simulated provider).
    account = models.ForeignKey(
        "PaymentAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    # How the member pays at the provider: jsapi / h5 / native (WeChat Pay), wap / page (Alipay), simulated.
    channel = models.CharField(_("支付方式"), max_length=12, blank=True)
    # The provider's own number for the payment (WeChat transaction_id, Alipay trade_no), once paid.
    provider_txn_id = models.CharField(_("渠道交易号"), max_length=64, blank=True)
    # What our pay page needs (a QR code's content, the WeChat JS bridge's signed parameters).
    client_params = models.JSONField(default=dict, blank=True)
    amount = money_field(_("金额"))
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    state = models.CharField(_("状态"), max_length=10, choices=PaymentState.choices, default=PaymentState.CREATED)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    succeeded_at = models.DateTimeField(_("成功时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("支付")
        verbose_name_plural = _("支付")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return self.provider_ref

    @property
    def provider_label(self) -> str:
        return str(PROVIDER_LABELS.get(self.provider, self.provider))


class RefundState(models.TextChoices):
    PENDING = "pending", _("退款中")
    SUCCEEDED = "succeeded", _("已退款")
    FAILED = "failed", _("退款失败")


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # One refund per key, e.g. "order:42:full" or "late-payment:SIM123": running the same
    # refund again finds this row instead of paying out twice.
    key = models.CharField(_("退款键"), max_length=80, unique=True)
    provider_ref = models.CharField(_("渠道退款号"), max_length=64, blank=True)
    amount = money_field(_("金额"))
    state = models.CharField(_("状态"), max_length=10, choices=RefundState.choices, default=RefundState.PENDING)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    # Handing the refund to its provider (services.send_refund_to_provider): tries, the last one, its error.
    send_attempts = models.PositiveSmallIntegerField(_("提交渠道次数"), default=0)
    last_send_at = models.DateTimeField(_("最近提交"), null=True, blank=True)
    send_error = models.CharField(_("提交渠道错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    succeeded_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return self.key


class RefundLine(models.Model):
    """A refund's part on one order line (退款分摊), split by what is still refundable on each line (largest
    remainder, by fen): a line is never refunded beyond what was paid for it (OrderLine's constraint)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="line_parts")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_parts")
    amount = money_field(_("金额"))

    class Meta:
        verbose_name = _("退款分摊")
        verbose_name_plural = _("退款分摊")
        ordering = ["refund", "line"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_line_amount_positive"),
            models.UniqueConstraint(fields=["refund", "line"], name="refund_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.refund_id}→{self.line_id}: {self.amount}"


class ProviderNotification(models.Model):
    """Every verified callback from a provider, stored once: a duplicate is recognised and ignored."""

    provider = models.CharField(max_length=20)
    notification_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10)  # payment | refund
    provider_ref = models.CharField(max_length=64)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("支付通知")
        verbose_name_plural = _("支付通知")
        constraints = [
            models.UniqueConstraint(fields=["provider", "notification_id"], name="provider_notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.notification_id}"


# --- After-sales (售后) -------------------------------------------------------------------------


class CaseState(models.TextChoices):
    OPEN = "open", _("处理中")
    RESOLVED = "resolved", _("已解决")
    REJECTED = "rejected", _("已驳回")


class AfterSalesCase(models.Model):
    """A member's problem with an order. While a case is open, the member gets no marketing from the shop."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales_cases")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="after_sales_cases")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="after_sales_cases")
    reason = models.TextField(_("问题描述"))
    state = models.CharField(_("状态"), max_length=10, choices=CaseState.choices, default=CaseState.OPEN)
    resolution = models.TextField(_("处理结果"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("售后")
        verbose_name_plural = _("售后")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["shop", "state"]), models.Index(fields=["member", "state"])]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(state="open"), name="one_open_case_per_order")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_state_display()}"


class CasePhoto(models.Model):
    case = models.ForeignKey(AfterSalesCase, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("照片"), upload_to="after_sales/%Y/%m/")

    def __str__(self) -> str:
        return self.image.name


# --- The simulated provider's own books (what a real provider keeps on its side) -----------------


class SimulatedCharge(models.Model):
    """A payment or refund as the simulated provider sees it."""

    kind = models.CharField(max_length=10)  # payment | refund
    reference = models.CharField(max_length=80, unique=True)  # payment ref, or the refund key
    payment_reference = models.CharField(max_length=64, blank=True)  # for refunds: the payment refunded
    amount = money_field("amount")
    currency = models.CharField(max_length=3)
    notify_url = models.URLField(max_length=300)
    state = models.CharField(max_length=10, default="created")  # created | succeeded | failed
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("模拟支付记录")
        verbose_name_plural = _("模拟支付记录")

    def __str__(self) -> str:
        return self.reference


class SimulatedNotificationOutbox(models.Model):
    """Signed notifications the simulated provider still has to (re)send to a callback URL."""

    MAX_ATTEMPTS = 8  # the pump gives a notification up after this many failed posts

    # The charge notified: a payment's provider_ref or a refund's key (the order page lists its callbacks).
    reference = models.CharField(max_length=80, blank=True, db_index=True)
    notify_url = models.URLField(max_length=300)
    body = models.TextField()
    signature = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    deliver_after = models.DateTimeField(default=timezone.now)
    # A pump that claimed the row owns it until then; after that (it died mid-send) another may resend.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("模拟支付通知")
        verbose_name_plural = _("模拟支付通知")
        indexes = [models.Index(fields=["delivered_at", "deliver_after"])]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.notify_url}"

    @property
    def status(self) -> str:
        """Where the callback stands now (a CallbackStatus value)."""
        if self.delivered_at:
            return CallbackStatus.DELIVERED
        if self.lease_until and self.lease_until > timezone.now():
            return CallbackStatus.SENDING
        if self.attempts >= self.MAX_ATTEMPTS:
            return CallbackStatus.GAVE_UP
        return CallbackStatus.RETRYING if self.last_error else CallbackStatus.WAITING

    def get_status_display(self) -> str:
        return CallbackStatus(self.status).label


class CallbackStatus(models.TextChoices):
    WAITING = "waiting", _("待发送")
    SENDING = "sending", _("发送中")
    RETRYING = "retrying", _("失败，等待重试")
    GAVE_UP = "gave_up", _("多次失败，已放弃")
    DELIVERED = "delivered", _("已送达")


# --- Repeat purchase (复购) -------------------------------------------------------------------------


class DueBasis(models.TextChoices):
    CYCLE = "cycle", _("使用周期 × 数量")
    MEDIAN = "median", _("个人复购间隔中位数")


class DueState(models.TextChoices):
    WAITING = "waiting", _("待提醒")
    REMINDED = "reminded", _("已提醒")
    LAPSED = "lapsed", _("已过期未提醒")


class RepurchaseDue(models.Model):
    """When a member will need a product again: one row per (member, product), rewritten on every paid or
    refunded purchase (orders.reminders). The reminder job reads only this table, by state and due date."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="repurchase_dues")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repurchase_dues", verbose_name=_("会员")
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="repurchase_dues", verbose_name=_("商品")
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+", verbose_name=_("最近下单群"))
    # The purchase this due date counts from: one reminder per (member, product, cycle).
    cycle = models.PositiveBigIntegerField(_("周期（订单 ID）"))
    last_purchase_at = models.DateTimeField(_("最近购买"))
    last_quantity = models.PositiveIntegerField(_("最近购买数量"))
    purchases = models.PositiveIntegerField(_("购买次数"))
    interval = models.DurationField(_("复购间隔"))
    basis = models.CharField(_("依据"), max_length=8, choices=DueBasis.choices)
    due_at = models.DateTimeField(_("预计复购日"))
    state = models.CharField(_("状态"), max_length=10, choices=DueState.choices, default=DueState.WAITING)
    # Not handed out again before this: set when the job hands the row to a batch (a batch lost with its
    # worker is handed out again after it) and when a batch defers it (capped or opted out for now).
    not_before = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("复购日")
        verbose_name_plural = _("复购日")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["product", "state", "due_at"]),
        ]
        constraints = [models.UniqueConstraint(fields=["member", "product"], name="repurchase_due_per_member_product")]

    def __str__(self) -> str:
        return f"{self.member_id}×{self.product_id} @ {self.due_at:%Y-%m-%d}"


class RepurchaseReminder(models.Model):
    """A repeat-purchase reminder, written before the notification: one per (member, product, cycle),
    whatever retries, re-runs or racing workers do."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="repurchase_reminders")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repurchase_reminders", verbose_name=_("会员")
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="repurchase_reminders", verbose_name=_("商品")
    )
    cycle = models.PositiveBigIntegerField(_("周期（订单 ID）"))
    due_at = models.DateTimeField(_("预计复购日"))
    sent_at = models.DateTimeField(_("发送时间"), default=timezone.now)
    notification_id = models.PositiveBigIntegerField(_("通知 ID"), null=True, blank=True)
    # The first order of the product paid within the conversion window after the reminder.
    converted_order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("复购订单")
    )
    converted_at = models.DateTimeField(_("复购时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("复购提醒")
        verbose_name_plural = _("复购提醒")
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["product", "sent_at"]), models.Index(fields=["member", "product", "sent_at"])]
        constraints = [
            models.UniqueConstraint(fields=["member", "product", "cycle"], name="repurchase_reminder_once_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}×{self.product_id} #{self.cycle}"


# --- Shops' merchant accounts and the daily reconciliation (real providers) ----------------------


class PaymentAccount(models.Model):
    """A shop's merchant account with one provider (WeChat Pay or Alipay), set up by the shop's owner.

    `config` holds what may be shown (app id, merchant number, the provider's public key…);
    `sealed_secrets` holds the private key and API key sealed (shequn.sealed), never shown back.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="payment_accounts")
    provider = models.CharField(_("支付渠道"), max_length=20)
    is_enabled = models.BooleanField(_("启用"), default=False)
    config = models.JSONField(default=dict, blank=True)
    sealed_secrets = models.TextField(blank=True, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("商户收款账户")
        verbose_name_plural = _("商户收款账户")
        ordering = ["shop", "provider"]
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="payment_account_once_per_provider")]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.provider}"


class PaymentAccountChange(models.Model):
    """Who changed a merchant account, when, and which fields (never their values)."""

    account = models.ForeignKey(PaymentAccount, on_delete=models.CASCADE, related_name="changes")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    fields = models.JSONField(_("修改项"), default=list)
    enabled = models.BooleanField(_("启用"))

    class Meta:
        verbose_name = _("收款账户修改记录")
        verbose_name_plural = _("收款账户修改记录")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.at:%Y-%m-%d %H:%M}"


class ReconciliationState(models.TextChoices):
    BALANCED = "balanced", _("已平")
    DIFFERENCES = "differences", _("有差异")
    FAILED = "failed", _("对账失败")


class ReconciliationRun(models.Model):
    """One day of one merchant account compared with the provider's statement, to the fen."""

    account = models.ForeignKey(PaymentAccount, on_delete=models.CASCADE, related_name="reconciliations")
    day = models.DateField(_("账单日"))
    state = models.CharField(_("结果"), max_length=12, choices=ReconciliationState.choices)
    provider_paid = money_field(_("渠道收款"), default=ZERO)
    provider_refunded = money_field(_("渠道退款"), default=ZERO)
    ledger_paid = money_field(_("本系统收款"), default=ZERO)
    ledger_refunded = money_field(_("本系统退款"), default=ZERO)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人")
    )
    ran_at = models.DateTimeField(_("对账时间"), default=timezone.now)

    class Meta:
        verbose_name = _("对账")
        verbose_name_plural = _("对账")
        ordering = ["-day", "-pk"]
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="reconciliation_once_per_day")]

    def __str__(self) -> str:
        return f"{self.account} {self.day}"


class DifferenceKind(models.TextChoices):
    MISSING_IN_LEDGER = "missing_in_ledger", _("渠道有、本系统无")
    MISSING_AT_PROVIDER = "missing_at_provider", _("本系统有、渠道无")
    AMOUNT_MISMATCH = "amount_mismatch", _("金额不一致")


class ReconciliationDifference(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="differences")
    kind = models.CharField(_("差异"), max_length=20, choices=DifferenceKind.choices)
    entry = models.CharField(_("类型"), max_length=10)  # payment | refund
    reference = models.CharField(_("单号"), max_length=80)
    provider_amount = money_field(_("渠道金额"), null=True, blank=True)
    ledger_amount = money_field(_("本系统金额"), null=True, blank=True)

    class Meta:
        verbose_name = _("对账差异")
        verbose_name_plural = _("对账差异")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


# The fulfilment queue (owed items: gifts, free items, prizes) lives beside it.

from .fulfilment_models import FulfilmentItem, FulfilmentState  # noqa: E402, F401
