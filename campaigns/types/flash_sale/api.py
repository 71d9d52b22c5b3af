"""The JSON API of 秒杀 for members, included by campaigns/api_urls.py at /api/v1/: the member's orders in
a flash sale, and 抢购 (one unit at the flash price; Idempotency-Key header, as placing any order). A
campaign flagged sold out is answered 409 (code sold_out) from the flag, before the campaign is read;
another type's campaign or a draft is a 404."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status

from campaigns import selectors, services
from campaigns.models import CampaignType
from orders import selectors as order_selectors
from orders.api import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY, MemberView
from orders.models import Delivery
from orders.serializers import MyOrderDetailSerializer, MyOrderListSerializer, RecipientPhoneField
from orders.services import DeliveryRequest
from shequn.api import DENIED, INVALID, NOT_FOUND, error_doc, error_response

from . import kind as flash_sale

MAX_ID = 2**31 - 1
SOLD_OUT = error_doc("The flash sale's units are all taken (code sold_out); answered without reading its rows.")


class FlashOrderSerializer(serializers.Serializer):
    """抢购: the order's group and delivery, as for any order, and the member's pricing choices (a coupon
    whose template allows a campaign price, points), checked by the order core's pricing step."""

    group = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="下单群 id（你所在的活动群）。")
    delivery = serializers.ChoiceField(choices=Delivery.choices)
    recipient_name = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    recipient_phone = RecipientPhoneField()
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    pickup_point = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    choices = serializers.DictField(
        child=serializers.CharField(max_length=60, allow_blank=True),
        required=False,
        default=dict,
        help_text='结账时的优惠选择，如 {"coupon": "12"}（仅限允许与活动价同享的券）或 {"points": "300"}。',
    )


def _flash_campaign(pk: int):
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.FLASH_SALE:
        raise Http404
    return campaign


@extend_schema(tags=["member"])
class FlashOrdersView(MemberView):
    serializer_class = FlashOrderSerializer

    @extend_schema(
        summary="My orders in a flash sale, newest first",
        responses={200: MyOrderListSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = _flash_campaign(pk)
        orders = order_selectors.orders_for_member(request.user).filter(campaign_order__campaign=campaign)
        return self.paginated(orders, MyOrderListSerializer)

    @extend_schema(
        summary="Buy one unit of a flash sale (抢购)",
        description="Places the member's order of one unit at the flash price in state pending_payment; pay it "
        "with /me/orders/{id}/pay/ within the sale's pay_minutes, or it is cancelled and the unit goes back. "
        "The same Idempotency-Key returns the same order (200; 201 when this call placed it). `choices` takes "
        "a coupon whose template allows a campaign price and points, as the other campaign checkouts. Refused "
        "(400) before the start, past the member's limit and for a coupon that may not stack; 409 once sold out.",
        parameters=[IDEMPOTENCY_KEY],
        request=FlashOrderSerializer,
        responses={
            201: MyOrderDetailSerializer,
            200: MyOrderDetailSerializer,
            400: INVALID,
            403: DENIED,
            404: NOT_FOUND,
            409: SOLD_OUT,
        },
    )
    def post(self, request, pk: int):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > 64:
            return error_response(
                _("需要 1–64 个字符的 Idempotency-Key 请求头。"), code="required", field=IDEMPOTENCY_HEADER
            )
        placed_before = order_selectors.orders_for_member(request.user).filter(idempotency_key=key)
        name = flash_sale.is_flagged_sold_out(pk)
        if name is not None and not placed_before.exists():
            return _sold_out(name)
        campaign = _flash_campaign(pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        group = next((g for g in services.member_groups_for(campaign, request.user) if g.pk == data["group"]), None)
        if group is None:
            raise ValidationError({"group": _("请选择你所在的活动群。")})
        before = placed_before.exists()
        try:
            order = flash_sale.buy(
                campaign=campaign,
                member=request.user,
                group=group,
                idempotency_key=key,
                note=data["note"],
                choices=data["choices"],
                delivery=DeliveryRequest(
                    method=data["delivery"],
                    recipient_name=data["recipient_name"],
                    recipient_phone=data["recipient_phone"],
                    address=data["address"],
                    pickup_point_id=data["pickup_point"],
                ),
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "sold_out":
                return _sold_out(campaign.name)
            raise
        return self.my_order(order.pk, status.HTTP_200_OK if before else status.HTTP_201_CREATED)


def _sold_out(name: str):
    return error_response(
        _("「%(name)s」活动名额已抢完。") % {"name": name}, code="sold_out", http_status=status.HTTP_409_CONFLICT
    )
