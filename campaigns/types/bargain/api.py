"""The JSON API of 砍 砍价 for member clients, included by campaigns/api_urls.py at /api/v1/ (its urls:
api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. A bargain is visible to its starter and to the
friends who acted on it, and to a member who brings the starter's share token (`?by=`, from the share
link); anything else is a 404. A refused act is a 409 whose `code` is the reason.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from campaigns import selectors, services
from campaigns.models import BargainTask, CampaignType
from orders.api import IDEMPOTENCY_KEY
from orders.serializers import MyOrderDetailSerializer
from shequn.api import DENIED, NOT_FOUND, error_doc
from shequn.serializers import person

from ..assisted.api import REFUSED, SHARE_TOKEN, DeliverySerializer, PersonField, SocialView, _idempotency_key, _refused
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
    cuts = CutSerializer(many=True)
    share_url = serializers.CharField()


def _bargain_data(task: BargainTask, user) -> dict:
    cuts = list(task.cuts.all())
    involved = user.pk == task.starter_id or any(c.cutter_id == user.pk for c in cuts)
    return {
        "id": task.pk,
        "campaign": task.campaign_id,
        "starter": person(task.starter),
        "state": task.state,
        "original_price": task.original_price,
        "floor_price": task.floor_price,
        "current_price": task.current_price,
        "cuts_planned": task.cuts_planned,
        "cuts_done": task.cuts_done,
        "expires_at": task.expires_at,
        "pay_deadline": task.pay_deadline,
        "order": task.order_id if user.pk == task.starter_id else None,
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
        "share_url": services.share_link(task.campaign, task.starter, task)
        if involved and task.state == "open"
        else "",
    }


class BargainViewBase(SocialView):
    def visible_bargain(self, pk: int) -> BargainTask:
        try:
            task = bargaining.bargain_with_cuts(pk)
        except BargainTask.DoesNotExist:
            raise Http404 from None
        if task.campaign.state not in selectors.PUBLIC_STATES or not bargaining.may_view(
            task, self.request.user, self.token_inviter(task.campaign)
        ):
            raise Http404
        return task


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
        return Response(BargainSerializer(_bargain_data(self.visible_bargain(pk), request.user)).data)


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
        task = self.visible_bargain(pk)
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
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Buy at the bargain's current price",
        description="The starter only; at the floor (or earlier when the campaign allows it), before the "
        "payment deadline. Places the order (pending_payment). Requires the Idempotency-Key header.",
        parameters=[IDEMPOTENCY_KEY],
        request=DeliverySerializer,
        responses={
            201: MyOrderDetailSerializer,
            400: error_doc("Invalid delivery or Idempotency-Key."),
            403: DENIED,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request, pk: int):
        task = self.visible_bargain(pk)
        key, problem = _idempotency_key(request)
        if problem:
            return problem
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = bargaining.buy(
                task=task, member=request.user, delivery=serializer.delivery_request(), idempotency_key=key
            )
        except BargainRefused as exc:
            return _refused(exc)
        from orders.selectors import order_for_member

        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )
