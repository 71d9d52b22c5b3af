"""The JSON API of 送 赠送 for member clients, included by campaigns/api_urls.py at /api/v1/ (its urls:
api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. A gift is found by its link's token: while it can
be claimed anyone signed in who holds the token may read and claim it; once claimed or closed only its giver
and its recipient may read it (others: 404). A refused act is a 409 whose `code` is the reason.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from campaigns import selectors
from campaigns.models import CampaignType
from orders.api import IDEMPOTENCY_KEY
from orders.selectors import order_for_member
from orders.serializers import MyOrderDetailSerializer
from shequn.api import DENIED, NOT_FOUND, error_doc, error_response
from shequn.serializers import person

from ..assisted.api import REFUSED, DeliverySerializer, PersonField, _idempotency_key, _refused
from . import kind as giving
from .kind import GiftRefused
from .models import Gift, GiftState


class GiftSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The gift link's secret: the gift's page is /m/c/gift/{token}/.")
    campaign = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=["gift", "treat"], help_text="gift: bought for a friend; treat: both free.")
    state = serializers.ChoiceField(choices=["open", "claimed", "refunded", "returned", "expired"])
    item = serializers.CharField(help_text="What the friend gets.")
    giver = PersonField()
    recipient = PersonField(allow_null=True)
    message = serializers.CharField()
    expires_at = serializers.DateTimeField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    can_claim = serializers.BooleanField(help_text="Whether the caller may claim it now.")
    share_url = serializers.CharField(help_text="The gift's link, for its giver while it is open (else empty).")


class BuyGiftSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


def gift_data(gift: Gift, user) -> dict:
    now = timezone.now()
    is_giver = user.pk == gift.giver_id
    return {
        "token": gift.token,
        "campaign": gift.campaign_id,
        "mode": gift.mode,
        "state": gift.state,
        "item": giving.label_of(gift.campaign),
        "giver": person(gift.giver),
        "recipient": person(gift.recipient) if gift.recipient_id else None,
        "message": gift.message,
        "expires_at": gift.expires_at,
        "claimed_at": gift.claimed_at,
        "can_claim": giving.claim_problem(gift, user, now=now) is None
        and (gift.state == GiftState.RETURNED or gift.is_open_at(now)),
        "share_url": settings.SITE_URL + gift.get_absolute_url() if is_giver and gift.is_open_at(now) else "",
    }


class GiftViewBase(generics.GenericAPIView):
    def visible_gift(self, token: str) -> Gift:
        try:
            gift = giving.gift_by_token(token)
        except Gift.DoesNotExist:
            raise Http404 from None
        if gift.campaign.state not in selectors.PUBLIC_STATES:
            raise Http404
        if gift.state != GiftState.OPEN and not gift.involves(self.request.user):
            raise Http404
        return gift

    def give_campaign(self, pk: int):
        campaign = selectors.public_campaign(pk)
        if campaign.type != CampaignType.GIVE:
            raise Http404
        return campaign


class MyGiftsView(GiftViewBase):
    serializer_class = GiftSerializer

    @extend_schema(summary="My gifts, given and received (latest 50)", responses={200: GiftSerializer(many=True)})
    def get(self, request):
        return Response([gift_data(gift, request.user) for gift in giving.gifts_of_member(request.user)])


class GiftView(GiftViewBase):
    serializer_class = GiftSerializer

    @extend_schema(summary="A gift, by its link's token", responses={200: GiftSerializer, 403: DENIED, 404: NOT_FOUND})
    def get(self, request, token: str):
        return Response(gift_data(self.visible_gift(token), request.user))


class GiftClaimView(GiftViewBase):
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Claim a gift with a pickup point or an address",
        description="Exactly once per gift: of any number of claims one wins, the others get 409 `claimed`.",
        request=DeliverySerializer,
        responses={200: GiftSerializer, 400: error_doc("Invalid delivery."), 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, token: str):
        gift = self.visible_gift(token)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            gift = giving.claim_gift(gift=gift, member=request.user, delivery=serializer.delivery_request())
        except GiftRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return error_response("；".join(exc.messages), code="invalid")
        return Response(gift_data(giving.gift_by_token(gift.token), request.user))


class BuyGiftView(GiftViewBase):
    serializer_class = BuyGiftSerializer

    @extend_schema(
        summary="Buy the campaign's item as a gift",
        description="Places the gift order (pending_payment; pay it with /me/orders/{id}/pay/). Once paid the "
        "gift appears in /me/gifts/ with its link. Requires the Idempotency-Key header.",
        parameters=[IDEMPOTENCY_KEY],
        request=BuyGiftSerializer,
        responses={
            201: MyOrderDetailSerializer,
            400: error_doc("Invalid input."),
            403: DENIED,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request, pk: int):
        campaign = self.give_campaign(pk)
        key, problem = _idempotency_key(request)
        if problem:
            return problem
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = giving.buy_gift(
                campaign=campaign,
                member=request.user,
                idempotency_key=key,
                message=serializer.validated_data["message"],
            )
        except GiftRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return error_response("；".join(exc.messages), code="invalid")
        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )


class StartTreatView(GiftViewBase):
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Start a treat (请好友喝一杯) to forward",
        description="The delivery is where the caller's own free item goes once a friend claims the treat.",
        request=DeliverySerializer,
        responses={201: GiftSerializer, 400: error_doc("Invalid delivery."), 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        campaign = self.give_campaign(pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            gift = giving.start_treat(campaign=campaign, member=request.user, delivery=serializer.delivery_request())
        except GiftRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return error_response("；".join(exc.messages), code="invalid")
        return Response(gift_data(giving.gift_by_token(gift.token), request.user), status=status.HTTP_201_CREATED)
