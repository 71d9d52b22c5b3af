"""The JSON API of 砍 砍价 for member clients, included by campaigns/api_urls.py at /api/v1/ (its urls:
api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. A bargain is visible to its starter and to the
friends who acted on it, and to a member who brings the starter's share token (`?by=`, from the share
link); anything else is a 404. A refused act is a 409 whose `code` is the reason.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from campaigns.models import BargainTask, CampaignType
from orders.api import IDEMPOTENCY_KEY
from orders.selectors import order_for_member
from orders.serializers import MyOrderDetailSerializer
from shequn.api import DENIED, NOT_FOUND, error_doc
from shequn.serializers import person

from ..assisted.api import (
    REFUSED,
    SHARE_TOKEN,
    PersonField,
    PricedDeliverySerializer,
    SocialView,
    _idempotency_key,
    _refused,
    task_data,
)
from . import kind as bargaining
from .kind import BargainRefused


class CutSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1…cuts_planned: the cut's place in the stored sequence.")
    cutter = PersonField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    price_after = serializers.DecimalField(max_digits=12, decimal_places=2)
    at = serializers.DateTimeField()


class BargainSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    starter = PersonField()
    state = serializers.ChoiceField(choices=["open", "floor_reached", "ordered", "purchased", "expired", "lapsed"])
    original_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    floor_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    current_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    cuts_planned = serializers.IntegerField()
    cuts_done = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    pay_deadline = serializers.DateTimeField(allow_null=True, help_text="Set when the floor is reached.")
    order = serializers.IntegerField(allow_null=True)
    cuts = CutSerializer(many=True, help_text="The latest 20 cuts in cut order (`cuts_done` counts them all).")
    share_url = serializers.CharField()


def _bargain_data(task: BargainTask, user) -> dict:
    cuts = bargaining.recent_cuts(task)
    return {
        **task_data(task, user, acts=None, still_open=task.state == "open"),
        "original_price": task.original_price,
        "floor_price": task.floor_price,
        "current_price": task.current_price,
        "cuts_planned": task.cuts_planned,
        "cuts_done": task.cuts_done,
        "pay_deadline": task.pay_deadline,
        "cuts": [
            {
                "number": c.number,
                "cutter": person(c.cutter),
                "amount": c.amount,
                "price_after": c.price_after,
                "at": c.created_at,
            }
            for c in cuts
        ],
    }


class BargainViewBase(SocialView):
    task_model = BargainTask

    def load_task(self, pk: int) -> BargainTask:
        return bargaining.bargain_with_cuts(pk)


# --- 砍 砍价 -------------------------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyBargainsView(BargainViewBase):
    serializer_class = BargainSerializer

    @extend_schema(
        summary="Start a bargain (发起砍价)",
        description="Starts the member's bargain in a running bargain campaign (the member must be in "
        "one of its groups); its cut sequence is fixed now. Starting again while one is live returns "
        "that one (200).",
        request=None,
        responses={201: BargainSerializer, 200: BargainSerializer, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.BARGAIN)
        existing = bargaining.live_bargain_of(campaign, request.user)
        try:
            task = bargaining.start_bargain(campaign=campaign, member=request.user)
        except BargainRefused as exc:
            return _refused(exc)
        return Response(
            BargainSerializer(_bargain_data(bargaining.bargain_with_cuts(task.pk), request.user)).data,
            status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED,
        )


@extend_schema(tags=["member"])
class BargainView(BargainViewBase):
    serializer_class = BargainSerializer

    @extend_schema(
        summary="A bargain: current price, the cuts with friends' names and amounts",
        parameters=[SHARE_TOKEN],
        responses={200: BargainSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(BargainSerializer(_bargain_data(self.visible_task(pk), request.user)).data)


@extend_schema(tags=["member"])
class BargainCutView(BargainViewBase):
    serializer_class = BargainSerializer

    @extend_schema(
        summary="Cut a friend's bargain (帮 TA 砍一刀)",
        description="Once per friend and bargain; never one's own. The friend gets the next cut of the "
        "stored sequence; the last one reaches the floor. Returns the bargain.",
        parameters=[SHARE_TOKEN],
        request=None,
        responses={201: BargainSerializer, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        task = self.visible_task(pk)
        try:
            bargaining.cut(task=task, cutter=request.user, request=request)
        except BargainRefused as exc:
            return _refused(exc)
        return Response(
            BargainSerializer(_bargain_data(bargaining.bargain_with_cuts(pk), request.user)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["member"])
class BargainBuyView(BargainViewBase):
    serializer_class = PricedDeliverySerializer

    @extend_schema(
        summary="Buy at the bargain's current price",
        description="The starter only; at the floor (or earlier when the campaign allows it), before the "
        "payment deadline. Places the order (pending_payment). Requires the Idempotency-Key header.",
        parameters=[IDEMPOTENCY_KEY],
        request=PricedDeliverySerializer,
        responses={
            201: MyOrderDetailSerializer,
            400: error_doc("Invalid delivery or Idempotency-Key."),
            403: DENIED,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request, pk: int):
        task = self.visible_task(pk)
        key, problem = _idempotency_key(request)
        if problem:
            return problem
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = bargaining.buy(
                task=task,
                member=request.user,
                delivery=serializer.delivery_request(),
                idempotency_key=key,
                choices=serializer.validated_data["choices"],
            )
        except BargainRefused as exc:
            return _refused(exc)
        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )
