"""The JSON API of the catalog, orders and payments: members under /me/, operators under /shop/.

Views are thin: parse with a serializer, call orders.services or orders.catalog (which lock, validate and
record), and render what orders.selectors reads back. Operator reads and writes are scoped to the
operator's current shop and member reads to the member, so another shop's or another member's object
is a 404. A service's ValidationError becomes the standard error body (shequn.api); a move the order's
state machine refuses is a 409 with code invalid_transition.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from groups import selectors as group_selectors
from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED, error_doc, error_response
from shequn.shop_api import ShopView

from . import catalog, pricing, selectors, services
from .lifecycle import TransitionRefused
from .payments.methods import paying_client
from .serializers import (
    CaseFilterSerializer,
    CloseCaseSerializer,
    MemberProductSerializer,
    MyCaseSerializer,
    MyOrderDetailSerializer,
    MyOrderFilterSerializer,
    MyOrderListSerializer,
    OpenCaseSerializer,
    OrderFilterSerializer,
    PaymentStartSerializer,
    PickupPointSerializer,
    PickupPointWriteSerializer,
    PlaceOrderSerializer,
    ProductImageUploadSerializer,
    ProductWriteSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    ReasonSerializer,
    RequiredReasonSerializer,
    ShipSerializer,
    ShopCaseSerializer,
    ShopOrderDetailSerializer,
    ShopOrderListSerializer,
    ShopPickupPointSerializer,
    ShopProductSerializer,
    ShopSkuSerializer,
    SkuCreateSerializer,
    SkuWriteSerializer,
    StockAdjustSerializer,
)
from .services import DeliveryRequest, IdempotencyConflict, LineRequest

IDEMPOTENCY_HEADER = "Idempotency-Key"
CONFLICT = error_doc("The order's state does not allow this now (code invalid_transition); the message says why.")
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="1–64 characters chosen by the client, new for each order it means to place. Sending the same "
    "key with the same body again returns the order placed the first time (200) instead of a second order; "
    "the same key with a different body is refused (422, code idempotency_key_reused).",
)


class TransitionRefusedIsAConflict:
    """The order's state machine refusing a move (cancel a shipped order, pay a cancelled one…) is a 409."""

    def handle_exception(self, exc):
        if isinstance(exc, TransitionRefused):
            return error_response(
                " ".join(exc.messages), code="invalid_transition", http_status=status.HTTP_409_CONFLICT
            )
        return super().handle_exception(exc)


# --- Member side ----------------------------------------------------------------------------------


class MemberView(TransitionRefusedIsAConflict, generics.GenericAPIView):
    def paginated(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def my_order(self, pk: int, http_status: int = status.HTTP_200_OK) -> Response:
        order = selectors.order_for_member(self.request.user, pk)
        return Response(MyOrderDetailSerializer(order, context=self.get_serializer_context()).data, status=http_status)


@extend_schema(tags=["member"])
class MyGroupProductsView(MemberView):
    serializer_class = MemberProductSerializer

    @extend_schema(
        summary="Products on sale in a group",
        description="Active products offered to this group, each with the SKUs that can be bought. "
        "Only for a group the member is in.",
        responses={200: MemberProductSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = group_selectors.group_for_member(request.user, pk)
        return self.paginated(selectors.products_for_group(group), MemberProductSerializer)


@extend_schema(tags=["member"])
class MyGroupProductView(MemberView):
    serializer_class = MemberProductSerializer

    @extend_schema(
        summary="A product on sale in a group, with its SKUs",
        responses={200: MemberProductSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int, product_id: int):
        group = group_selectors.group_for_member(request.user, pk)
        return Response(self.get_serializer(selectors.product_in_group(group, product_id)).data)


@extend_schema(tags=["member"])
class MyGroupPickupPointsView(MemberView):
    serializer_class = PickupPointSerializer

    @extend_schema(
        summary="Pickup points (自提点) for orders from a group",
        description="The shop's active pickup points: the choices for `pickup_point` when ordering.",
        responses={200: PickupPointSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = group_selectors.group_for_member(request.user, pk)
        return self.paginated(selectors.pickup_points_for_shop(group.shop, active_only=True), PickupPointSerializer)


@extend_schema(tags=["member"])
class MyGroupOrdersView(MemberView):
    serializer_class = PlaceOrderSerializer

    @extend_schema(
        summary="Place an order in a group",
        description="Reserves the stock and opens the order in state pending_payment; pay it with /pay/ before "
        "`pay_deadline`. Requires the Idempotency-Key header: a retry with the same key and body returns the "
        "same order with 200 (201 when this call placed it). Delivery is `shipping` (recipient_name, "
        "recipient_phone and address required) or `pickup` (pickup_point required).",
        parameters=[IDEMPOTENCY_KEY],
        request=PlaceOrderSerializer,
        responses={
            201: MyOrderDetailSerializer,
            200: MyOrderDetailSerializer,
            400: error_doc(
                "Invalid order (field lines, delivery, address, pickup_point…), not an active member "
                "of the group, or the Idempotency-Key header missing (code required) or too long."
            ),
            403: DENIED,
            404: NOT_FOUND,
            422: error_doc("This Idempotency-Key was used for a different order (code idempotency_key_reused)."),
        },
    )
    def post(self, request, pk: int):
        group = group_selectors.group_for_member(request.user, pk)
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return error_response(_("下单需要 Idempotency-Key 请求头。"), code="required", field=IDEMPOTENCY_HEADER)
        if len(key) > 64:
            return error_response(_("Idempotency-Key 最长 64 个字符。"), code="invalid", field=IDEMPOTENCY_HEADER)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            placed = services.place_or_find_order(
                member=request.user,
                group=group,
                idempotency_key=key,
                note=data["note"],
                lines=[LineRequest(sku_id=line["sku"], quantity=line["quantity"]) for line in data["lines"]],
                delivery=DeliveryRequest(
                    method=data["delivery"],
                    recipient_name=data["recipient_name"],
                    recipient_phone=data["recipient_phone"],
                    address=data["address"],
                    pickup_point_id=data["pickup_point"],
                ),
                choices=data["choices"],
            )
        except IdempotencyConflict as exc:
            return error_response(
                " ".join(exc.messages),
                code="idempotency_key_reused",
                field=IDEMPOTENCY_HEADER,
                http_status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return self.my_order(placed.order.pk, status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK)


@extend_schema(tags=["member"])
class MyGroupQuoteView(MemberView):
    serializer_class = QuoteRequestSerializer

    @extend_schema(
        summary="Price an order before placing it",
        description="What the lines would cost in this group with these `choices` (orders.pricing: every "
        "adjustment with its reason), and the `options` the checkout can offer (e.g. the member's points: "
        "key `points`, their balance and the most they can use). Places nothing; pass the same `choices` "
        "when placing the order.",
        request=QuoteRequestSerializer,
        responses={
            200: QuoteSerializer,
            400: error_doc("Invalid lines or a choice a plug-in refuses (e.g. points: not enough points)."),
            403: DENIED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        group = group_selectors.group_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lines = [LineRequest(sku_id=line["sku"], quantity=line["quantity"]) for line in data["lines"]]
        priced = services.quote_order(member=request.user, group=group, lines=lines, choices=data["choices"])
        options = pricing.options_for(
            member=request.user,
            group=group,
            lines=[
                pricing.PricedLine(line.sku_id, line.product_id, line.unit_price, line.quantity)
                for line in priced.lines
            ],
        )
        answer = {
            "subtotal": priced.subtotal,
            "adjustments": priced.adjustments,
            "discount": priced.discount,
            "charges": priced.charges,
            "total": priced.total,
            "options": [{**option, "choices": [[v, str(w)] for v, w in option["choices"]]} for option in options],
        }
        return Response(QuoteSerializer(answer).data)


@extend_schema(tags=["member"])
class MyOrdersView(MemberView):
    serializer_class = MyOrderListSerializer

    @extend_schema(
        summary="My orders",
        description="The signed-in member's orders in every shop, newest first.",
        parameters=[MyOrderFilterSerializer],
        responses={200: MyOrderListSerializer(many=True), 400: INVALID, 403: DENIED},
    )
    def get(self, request):
        filters = MyOrderFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = selectors.orders_for_member(request.user)
        if state := filters.validated_data.get("state"):
            orders = orders.filter(state=state)
        return self.paginated(orders, MyOrderListSerializer)


@extend_schema(tags=["member"])
class MyOrderView(MemberView):
    serializer_class = MyOrderDetailSerializer

    @extend_schema(
        summary="One of my orders",
        description="With its delivery, state history, payments, refunds and after-sales cases.",
        responses={200: MyOrderDetailSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return self.my_order(pk)


@extend_schema(tags=["member"])
class MyOrderPayView(MemberView):
    serializer_class = PaymentStartSerializer

    @extend_schema(
        summary="Pay for an order",
        description="Starts (or resumes) the payment of a pending order and returns the cashier URL to open. "
        "The order becomes paid only when the payment provider's signed notification arrives. `method` "
        "(wechatpay:jsapi, wechatpay:h5, wechatpay:native, alipay:wap, alipay:page) picks one of the shop's "
        "ways of paying that fit the client (its User-Agent); without it, the first one.",
        request=None,
        parameters=[OpenApiParameter("method", str, required=False, description="How to pay, e.g. alipay:wap")],
        responses={
            200: PaymentStartSerializer,
            403: DENIED,
            404: NOT_FOUND,
            409: error_doc("Not pending payment, or past its payment deadline (code invalid_transition)."),
        },
    )
    def post(self, request, pk: int):
        order = selectors.order_for_member(request.user, pk)
        method = str(request.query_params.get("method", ""))[:40]
        payment, pay_url = services.start_payment(order=order, method=method, **paying_client(request))
        return Response(self.get_serializer({"pay_url": request.build_absolute_uri(pay_url), "payment": payment}).data)


@extend_schema(tags=["member"])
class MyOrderCancelView(MemberView):
    serializer_class = ReasonSerializer

    @extend_schema(
        summary="Cancel an unpaid order",
        description="The reserved stock goes back.",
        request=ReasonSerializer,
        responses={200: MyOrderDetailSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        order = selectors.order_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cancel_order(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.my_order(pk)


@extend_schema(tags=["member"])
class MyOrderRequestRefundView(MemberView):
    serializer_class = RequiredReasonSerializer

    @extend_schema(
        summary="Ask for a refund",
        description="For a paid, shipped or completed order; the shop approves or rejects it.",
        request=RequiredReasonSerializer,
        responses={200: MyOrderDetailSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        order = selectors.order_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_refund(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.my_order(pk)


@extend_schema(tags=["member"])
class MyOrderConfirmReceiptView(MemberView):
    serializer_class = MyOrderDetailSerializer

    @extend_schema(
        summary="Confirm receipt of a shipped order",
        description="The order becomes completed.",
        request=None,
        responses={200: MyOrderDetailSerializer, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        services.complete_order(order=selectors.order_for_member(request.user, pk), by=request.user)
        return self.my_order(pk)


@extend_schema(tags=["member"])
class MyOrderAfterSalesView(MemberView):
    serializer_class = OpenCaseSerializer

    @extend_schema(
        summary="Open an after-sales case (售后) on an order",
        description="multipart/form-data: `reason` and up to 9 `photos`. One open case per order; while it is "
        "open the shop does not market to the member.",
        request={"multipart/form-data": OpenCaseSerializer},
        responses={
            201: MyCaseSerializer,
            400: error_doc("Invalid input or photo, the order is unpaid, or a case is already open."),
            403: DENIED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        order = selectors.order_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.open_case(
            order=order,
            member=request.user,
            reason=serializer.validated_data["reason"],
            photos=serializer.validated_data["photos"],
        )
        return Response(
            MyCaseSerializer(case, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )


# --- Operator side: catalog -----------------------------------------------------------------------


class OrdersShopView(TransitionRefusedIsAConflict, ShopView):
    def product_detail(self, pk: int, http_status: int = status.HTTP_200_OK) -> Response:
        product = selectors.product_for_shop(self.shop, pk)
        return Response(ShopProductSerializer(product, context=self.get_serializer_context()).data, status=http_status)

    def order_detail(self, pk: int) -> Response:
        order = selectors.order_for_shop(self.shop, pk)
        return Response(ShopOrderDetailSerializer(order, context=self.get_serializer_context()).data)

    def case_detail(self, pk: int) -> Response:
        case = get_object_or_404(selectors.cases_for_shop(self.shop), pk=pk)
        return Response(ShopCaseSerializer(case, context=self.get_serializer_context()).data)


PRODUCT_FIELDS = ("name", "description", "category", "is_active", "usage_cycle_days", "offered_to_all_groups")


@extend_schema(tags=["shop"])
class ShopProductsView(OrdersShopView):
    serializer_class = ProductWriteSerializer

    @extend_schema(summary="The shop's products", responses={200: ShopProductSerializer(many=True), 403: SHOP_DENIED})
    def get(self, request):
        return self.paginated(selectors.products_for_shop(self.shop), ShopProductSerializer)

    @extend_schema(
        summary="Create a product",
        description="Add SKUs with /skus/ and images with /images/. A product offered to chosen groups "
        "only needs at least one of the shop's groups.",
        request=ProductWriteSerializer,
        responses={201: ShopProductSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = catalog.save_product(shop=self.shop, by=request.user, **serializer.validated_data)
        return self.product_detail(product.pk, status.HTTP_201_CREATED)


@extend_schema(tags=["shop"])
class ShopProductView(OrdersShopView):
    serializer_class = ProductWriteSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(
        summary="A product of the shop with its SKUs and images",
        responses={200: ShopProductSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return self.product_detail(pk)

    @extend_schema(
        summary="Change a product",
        description="Send only the fields to change; `groups` replaces the chosen groups when present. "
        "Take a product off sale with is_active false (products that were ordered are never deleted).",
        request=ProductWriteSerializer(partial=True),
        responses={200: ShopProductSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        product = selectors.product_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = {name: getattr(product, name) for name in PRODUCT_FIELDS}
        values["groups"] = list(product.groups.all())
        catalog.save_product(
            shop=self.shop, by=request.user, product=product, **{**values, **serializer.validated_data}
        )
        return self.product_detail(pk)


@extend_schema(tags=["shop"])
class ShopProductImagesView(OrdersShopView):
    serializer_class = ProductImageUploadSerializer

    @extend_schema(
        summary="Add an image to a product",
        description="multipart/form-data. The image is checked (a real JPG, PNG, WebP or GIF within the "
        "size limit) and a thumbnail is made.",
        request={"multipart/form-data": ProductImageUploadSerializer},
        responses={201: ShopProductSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        product = selectors.product_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        position = serializer.validated_data["position"]
        try:
            catalog.add_product_image(
                product=product,
                by=request.user,
                upload=serializer.validated_data["image"],
                position=len(product.images.all()) if position is None else position,
            )
        except ValidationError as exc:
            raise ValidationError({"image": exc.messages}) from None
        return self.product_detail(pk, status.HTTP_201_CREATED)


@extend_schema(tags=["shop"])
class ShopProductSkusView(OrdersShopView):
    serializer_class = SkuCreateSerializer

    @extend_schema(
        summary="Add a SKU to a product",
        description="`stock` is the opening stock.",
        request=SkuCreateSerializer,
        responses={201: ShopSkuSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        product = selectors.product_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sku = catalog.save_sku(by=request.user, product=product, **serializer.validated_data)
        return Response(
            ShopSkuSerializer(selectors.sku_for_shop(self.shop, sku.pk)).data, status=status.HTTP_201_CREATED
        )


SKU_FIELDS = ("spec", "price", "per_member_limit", "is_active")


@extend_schema(tags=["shop"])
class ShopSkuView(OrdersShopView):
    serializer_class = SkuWriteSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(summary="A SKU of the shop", responses={200: ShopSkuSerializer, 403: SHOP_DENIED, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(ShopSkuSerializer(selectors.sku_for_shop(self.shop, pk)).data)

    @extend_schema(
        summary="Change a SKU",
        description="Send only the fields to change. Stock is not set here: use /stock/, which adds to "
        "or takes from the stock there is now, so concurrent orders are never overwritten.",
        request=SkuWriteSerializer(partial=True),
        responses={200: ShopSkuSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        sku = selectors.sku_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = {name: getattr(sku, name) for name in SKU_FIELDS}
        catalog.save_sku(by=request.user, product=sku.product, sku=sku, **{**values, **serializer.validated_data})
        return Response(ShopSkuSerializer(selectors.sku_for_shop(self.shop, pk)).data)


@extend_schema(tags=["shop"])
class ShopSkuStockView(OrdersShopView):
    serializer_class = StockAdjustSerializer

    @extend_schema(
        summary="Adjust a SKU's stock",
        description="Adds `delta` (restock) or takes it away (negative); taking more than is left is "
        "refused on the field delta.",
        request=StockAdjustSerializer,
        responses={200: ShopSkuSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        sku = selectors.sku_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        catalog.adjust_stock(sku=sku, by=request.user, delta=serializer.validated_data["delta"])
        return Response(ShopSkuSerializer(selectors.sku_for_shop(self.shop, pk)).data)


# --- Operator side: pickup points -----------------------------------------------------------------

PICKUP_POINT_FIELDS = ("name", "address", "opening_hours", "is_active")


@extend_schema(tags=["shop"])
class ShopPickupPointsView(OrdersShopView):
    serializer_class = PickupPointWriteSerializer

    @extend_schema(
        summary="The shop's pickup points (自提点)",
        responses={200: ShopPickupPointSerializer(many=True), 403: SHOP_DENIED},
    )
    def get(self, request):
        return self.paginated(selectors.pickup_points_for_shop(self.shop), ShopPickupPointSerializer)

    @extend_schema(
        summary="Add a pickup point",
        request=PickupPointWriteSerializer,
        responses={201: ShopPickupPointSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        point = catalog.save_pickup_point(shop=self.shop, by=request.user, **serializer.validated_data)
        return Response(ShopPickupPointSerializer(point).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["shop"])
class ShopPickupPointView(OrdersShopView):
    serializer_class = PickupPointWriteSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_point(self, pk: int):
        return get_object_or_404(selectors.pickup_points_for_shop(self.shop), pk=pk)

    @extend_schema(
        summary="A pickup point of the shop",
        responses={200: ShopPickupPointSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(ShopPickupPointSerializer(self.get_point(pk)).data)

    @extend_schema(
        summary="Change a pickup point",
        description="Send only the fields to change; is_active false stops new orders choosing it.",
        request=PickupPointWriteSerializer(partial=True),
        responses={200: ShopPickupPointSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        point = self.get_point(pk)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = {name: getattr(point, name) for name in PICKUP_POINT_FIELDS}
        point = catalog.save_pickup_point(
            shop=self.shop, by=request.user, point=point, **{**values, **serializer.validated_data}
        )
        return Response(ShopPickupPointSerializer(point).data)


# --- Operator side: orders ------------------------------------------------------------------------


@extend_schema(tags=["shop"])
class ShopOrdersView(OrdersShopView):
    serializer_class = ShopOrderListSerializer

    @extend_schema(
        summary="The shop's orders",
        description="Newest first, filtered by any of the parameters.",
        parameters=[OrderFilterSerializer],
        responses={200: ShopOrderListSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = OrderFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        orders = selectors.orders_for_shop(
            self.shop,
            state=f.get("state"),
            group_id=f.get("group"),
            date_from=f.get("date_from"),
            date_to=f.get("date_to"),
            member=f.get("member"),
            product_id=f.get("product"),
        )
        return self.paginated(orders, ShopOrderListSerializer)


@extend_schema(tags=["shop"])
class ShopOrderView(OrdersShopView):
    serializer_class = ShopOrderDetailSerializer

    @extend_schema(
        summary="An order of the shop",
        description="With its state history (who, when, why), payments, refunds and after-sales cases.",
        responses={200: ShopOrderDetailSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return self.order_detail(pk)


ORDER_ACTION_RESPONSES = {200: ShopOrderDetailSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND, 409: CONFLICT}


@extend_schema(tags=["shop"])
class ShopOrderShipView(OrdersShopView):
    serializer_class = ShipSerializer

    @extend_schema(
        summary="Ship a paid order",
        description="A shipping order needs its tracking number.",
        request=ShipSerializer,
        responses=ORDER_ACTION_RESPONSES,
    )
    def post(self, request, pk: int):
        order = selectors.order_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.ship_order(order=order, by=request.user, tracking_number=serializer.validated_data["tracking_number"])
        return self.order_detail(pk)


@extend_schema(tags=["shop"])
class ShopOrderCancelView(OrdersShopView):
    serializer_class = ReasonSerializer

    @extend_schema(
        summary="Cancel an unpaid order",
        description="The reserved stock goes back.",
        request=ReasonSerializer,
        responses=ORDER_ACTION_RESPONSES,
    )
    def post(self, request, pk: int):
        order = selectors.order_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cancel_order(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.order_detail(pk)


@extend_schema(tags=["shop"])
class ShopOrderRefundView(OrdersShopView):
    serializer_class = RequiredReasonSerializer

    @extend_schema(
        summary="Refund a paid order",
        description="Records the refund request and approves it in one step. The money goes back "
        "through the payment provider; the order becomes refunded (and its stock returns) when the "
        "provider confirms.",
        request=RequiredReasonSerializer,
        responses=ORDER_ACTION_RESPONSES,
    )
    def post(self, request, pk: int):
        order = selectors.order_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.refund_order(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.order_detail(pk)


@extend_schema(tags=["shop"])
class ShopOrderApproveRefundView(OrdersShopView):
    serializer_class = ReasonSerializer

    @extend_schema(
        summary="Approve a member's refund request",
        description="Refunds what is left of the order; approving twice refunds once. The order becomes "
        "refunded when the provider confirms.",
        request=ReasonSerializer,
        responses=ORDER_ACTION_RESPONSES,
    )
    def post(self, request, pk: int):
        order = selectors.order_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.approve_refund(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.order_detail(pk)


@extend_schema(tags=["shop"])
class ShopOrderRejectRefundView(OrdersShopView):
    serializer_class = RequiredReasonSerializer

    @extend_schema(
        summary="Reject a member's refund request", request=RequiredReasonSerializer, responses=ORDER_ACTION_RESPONSES
    )
    def post(self, request, pk: int):
        order = selectors.order_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reject_refund(order=order, by=request.user, reason=serializer.validated_data["reason"])
        return self.order_detail(pk)


# --- Operator side: after-sales -------------------------------------------------------------------


@extend_schema(tags=["shop"])
class ShopCasesView(OrdersShopView):
    serializer_class = ShopCaseSerializer

    @extend_schema(
        summary="The shop's after-sales cases (售后)",
        parameters=[CaseFilterSerializer],
        responses={200: ShopCaseSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = CaseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.cases_for_shop(self.shop, state=filters.validated_data.get("state")), ShopCaseSerializer
        )


@extend_schema(tags=["shop"])
class ShopCaseView(OrdersShopView):
    serializer_class = ShopCaseSerializer

    @extend_schema(
        summary="An after-sales case of the shop", responses={200: ShopCaseSerializer, 403: SHOP_DENIED, 404: NOT_FOUND}
    )
    def get(self, request, pk: int):
        return self.case_detail(pk)


@extend_schema(tags=["shop"])
class ShopCaseCloseView(OrdersShopView):
    serializer_class = CloseCaseSerializer

    @extend_schema(
        summary="Close an after-sales case",
        description="resolved true closes it as resolved, false as rejected; `resolution` is shown to "
        "the member. A case is closed once.",
        request=CloseCaseSerializer,
        responses={200: ShopCaseSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        case = selectors.case_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.close_case(
            case=case,
            by=request.user,
            resolution=serializer.validated_data["resolution"],
            resolved=serializer.validated_data["resolved"],
        )
        return self.case_detail(pk)
