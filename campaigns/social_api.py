"""The JSON API of 帮 助力 and 砍 砍价 for member clients, mounted at /api/v1/ (campaigns/help_api_urls.py and
campaigns/bargain_api_urls.py).

Thin views: parse, call campaigns.types.help / campaigns.types.bargain, render. A task or bargain is
visible to its starter and to the friends who acted on it, and to a member who brings the starter's share
token (`?by=`, from the share link); anything else is a 404. A refused act (self, duplicate, completed,
expired, not a new user…) is a 409 whose `code` is the reason and whose message says it in words.
"""

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from orders.api import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY
from orders.models import Delivery
from orders.selectors import order_for_member
from orders.serializers import MyOrderDetailSerializer, RecipientPhoneField
from orders.services import DeliveryRequest
from shequn.api import DENIED, NOT_FOUND, error_doc, error_response
from shequn.serializers import person

from . import selectors, services
from .models import BargainTask, CampaignType, HelpTask
from .types import bargain as bargaining
from .types import help as helping
from .types.bargain import BargainRefused
from .types.help import HelpRefused

SHARE_TOKEN = OpenApiParameter(
    "by",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="The share token from the starter's share link (its `?by=`): lets a friend who has not acted "
    "yet see the task and act on it.",
)
REFUSED = error_doc(
    "The act is refused: `code` is the reason (self, duplicate, completed, expired, floor, closed, "
    "not_new, helper_limit, not_running, not_member…) and the message says it in words."
)


# --- Serializers -------------------------------------------------------------------------------------------


class PersonField(serializers.Serializer):
    id = serializers.IntegerField()
    public_name = serializers.CharField()


class RewardSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=helping.RewardKind.CHOICES,
        help_text="price: buy the campaign's SKU at `price`; free_item: the shop hands `label` over.",
    )
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    label = serializers.CharField()


class HelpSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1…helps_needed: the help's place.")
    helper = PersonField()
    at = serializers.DateTimeField()


class HelpTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    starter = PersonField()
    state = serializers.ChoiceField(choices=["open", "completed", "expired"])
    helps_needed = serializers.IntegerField()
    help_count = serializers.IntegerField()
    helps_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    seconds_left = serializers.IntegerField()
    reward = RewardSerializer()
    reward_granted_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField(allow_null=True, help_text="The reward order, once claimed.")
    helps = HelpSerializer(many=True)
    share_url = serializers.CharField(help_text="The starter's share link (empty for others, or once closed).")


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


class DeliverySerializer(serializers.Serializer):
    delivery = serializers.ChoiceField(choices=Delivery.choices, help_text="shipping 快递配送，pickup 到店自提。")
    recipient_name = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    recipient_phone = RecipientPhoneField()
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    pickup_point = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True, default=None
    )

    def delivery_request(self) -> DeliveryRequest:
        data = self.validated_data
        return DeliveryRequest(
            method=data["delivery"],
            recipient_name=data["recipient_name"],
            recipient_phone=data["recipient_phone"],
            address=data["address"],
            pickup_point_id=data["pickup_point"],
        )


def _help_task_data(task: HelpTask, user) -> dict:
    now = timezone.now()
    helps = list(task.helps.all())
    involved = user.pk == task.starter_id or any(h.helper_id == user.pk for h in helps)
    return {
        "id": task.pk,
        "campaign": task.campaign_id,
        "starter": person(task.starter),
        "state": task.state,
        "helps_needed": task.helps_needed,
        "help_count": task.help_count,
        "helps_left": task.helps_left,
        "expires_at": task.expires_at,
        "seconds_left": max(int((task.expires_at - now).total_seconds()), 0),
        "reward": task.reward,
        "reward_granted_at": task.reward_granted_at,
        "order": task.order_id if user.pk == task.starter_id else None,
        "helps": [{"number": h.number, "helper": person(h.helper), "at": h.created_at} for h in helps],
        "share_url": services.share_link(task.campaign, task.starter, task)
        if involved and task.is_open_at(now)
        else "",
    }


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


def _refused(exc) -> Response:
    return error_response(exc.message_text, code=exc.reason, http_status=status.HTTP_409_CONFLICT)


def _idempotency_key(request) -> tuple[str, Response | None]:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return key, error_response(_("下单需要 Idempotency-Key 请求头。"), code="required", field=IDEMPOTENCY_HEADER)
    if len(key) > 64:
        return key, error_response(_("Idempotency-Key 最长 64 个字符。"), code="invalid", field=IDEMPOTENCY_HEADER)
    return key, None


class SocialView(generics.GenericAPIView):
    def token_inviter(self, campaign):
        return services.inviter_from_token(campaign, self.request.query_params.get("by"))

    def visible_help_task(self, pk: int) -> HelpTask:
        try:
            task = helping.task_with_helps(pk)
        except HelpTask.DoesNotExist:
            raise Http404 from None
        if task.campaign.state not in selectors.PUBLIC_STATES or not helping.may_view(
            task, self.request.user, self.token_inviter(task.campaign)
        ):
            raise Http404
        return task

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

    def campaign_of_type(self, pk: int, campaign_type: str):
        campaign = selectors.public_campaign(pk)
        if campaign.type != campaign_type:
            raise Http404
        return campaign


# --- 帮 助力 -------------------------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyHelpTasksView(SocialView):
    serializer_class = HelpTaskSerializer

    @extend_schema(
        summary="Start a help task (发起助力)",
        description="Starts the member's help task in a running help campaign (the member must be in "
        "one of its groups). Starting again while one is open returns that one (200).",
        request=None,
        responses={201: HelpTaskSerializer, 200: HelpTaskSerializer, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.HELP)
        existing = helping.open_task_of(campaign, request.user)
        try:
            task = helping.start_task(campaign=campaign, member=request.user)
        except HelpRefused as exc:
            return _refused(exc)
        task = helping.task_with_helps(task.pk)
        return Response(
            HelpTaskSerializer(_help_task_data(task, request.user)).data,
            status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED,
        )


@extend_schema(tags=["member"])
class HelpTaskView(SocialView):
    serializer_class = HelpTaskSerializer

    @extend_schema(
        summary="A help task: progress, helpers, time left",
        parameters=[SHARE_TOKEN],
        responses={200: HelpTaskSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(HelpTaskSerializer(_help_task_data(self.visible_help_task(pk), request.user)).data)


@extend_schema(tags=["member"])
class HelpTaskHelpView(SocialView):
    serializer_class = HelpTaskSerializer

    @extend_schema(
        summary="Help a friend's task (帮 TA 助力)",
        description="Once per friend and task; never one's own; the K-th help completes the task and "
        "grants its reward. Returns the task.",
        parameters=[SHARE_TOKEN],
        request=None,
        responses={201: HelpTaskSerializer, 403: DENIED, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request, pk: int):
        task = self.visible_help_task(pk)
        try:
            helping.give_help(task=task, helper=request.user, request=request)
        except HelpRefused as exc:
            return _refused(exc)
        return Response(
            HelpTaskSerializer(_help_task_data(helping.task_with_helps(pk), request.user)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["member"])
class HelpTaskClaimView(SocialView):
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Buy a completed task's reward at the reward price",
        description="The starter only. Places the order (pending_payment; pay it with "
        "/me/orders/{id}/pay/). Requires the Idempotency-Key header: the same key returns the same order.",
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
        task = self.visible_help_task(pk)
        key, problem = _idempotency_key(request)
        if problem:
            return problem
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = helping.claim_reward(
                task=task, member=request.user, delivery=serializer.delivery_request(), idempotency_key=key
            )
        except HelpRefused as exc:
            return _refused(exc)

        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )


# --- 砍 砍价 -------------------------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyBargainsView(SocialView):
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
class BargainView(SocialView):
    serializer_class = BargainSerializer

    @extend_schema(
        summary="A bargain: current price, the cuts with friends' names and amounts",
        parameters=[SHARE_TOKEN],
        responses={200: BargainSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(BargainSerializer(_bargain_data(self.visible_bargain(pk), request.user)).data)


@extend_schema(tags=["member"])
class BargainCutView(SocialView):
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
class BargainBuyView(SocialView):
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

        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )
