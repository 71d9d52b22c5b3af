"""The JSON API of 帮 助力 for member clients, included by campaigns/api_urls.py at /api/v1/ (its urls:
api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. A help task is visible to its starter and to the
friends who acted on it, and to a member who brings the starter's share token (`?by=`, from the share
link); anything else is a 404. A refused act is a 409 whose `code` is the reason.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from campaigns.models import CampaignType, HelpTask
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
from . import kind as helping
from .kind import HelpRefused


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


def _help_task_data(task: HelpTask, user) -> dict:
    now = timezone.now()
    helps = list(task.helps.all())
    return {
        **task_data(task, user, acts=helps, still_open=task.is_open_at(now)),
        "helps_needed": task.helps_needed,
        "help_count": task.help_count,
        "helps_left": task.helps_left,
        "seconds_left": max(int((task.expires_at - now).total_seconds()), 0),
        "reward": task.reward,
        "reward_granted_at": task.reward_granted_at,
        "helps": [{"number": h.number, "helper": person(h.helper), "at": h.created_at} for h in helps],
    }


class HelpTaskViewBase(SocialView):
    task_model = HelpTask

    def load_task(self, pk: int) -> HelpTask:
        return helping.task_with_helps(pk)


# --- 帮 助力 -------------------------------------------------------------------------------------------------


@extend_schema(tags=["member"])
class MyHelpTasksView(HelpTaskViewBase):
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
class HelpTaskView(HelpTaskViewBase):
    serializer_class = HelpTaskSerializer

    @extend_schema(
        summary="A help task: progress, helpers, time left",
        parameters=[SHARE_TOKEN],
        responses={200: HelpTaskSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(HelpTaskSerializer(_help_task_data(self.visible_task(pk), request.user)).data)


@extend_schema(tags=["member"])
class HelpTaskHelpView(HelpTaskViewBase):
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
        task = self.visible_task(pk)
        try:
            helping.give_help(task=task, helper=request.user, request=request)
        except HelpRefused as exc:
            return _refused(exc)
        return Response(
            HelpTaskSerializer(_help_task_data(helping.task_with_helps(pk), request.user)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["member"])
class HelpTaskClaimView(HelpTaskViewBase):
    serializer_class = PricedDeliverySerializer

    @extend_schema(
        summary="Claim a completed task's reward: buy it at the reward price, or take the free item",
        description="The starter only. A price reward places the order (pending_payment; pay it with "
        "/me/orders/{id}/pay/); a free item places a zero-price order, paid at once (201), or, when the "
        "campaign has no SKU, owes the item through the shop's fulfilment queue (200, the task). Requires the "
        "Idempotency-Key header: the same key returns the same order.",
        parameters=[IDEMPOTENCY_KEY],
        request=PricedDeliverySerializer,
        responses={
            200: HelpTaskSerializer,
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
            order = helping.claim_reward(
                task=task,
                member=request.user,
                delivery=serializer.delivery_request(),
                idempotency_key=key,
                choices=serializer.validated_data["choices"],
            )
        except HelpRefused as exc:
            return _refused(exc)
        if order is None:  # a free item with no campaign SKU: owed through the fulfilment queue, no order
            return Response(_help_task_data(helping.task_with_helps(task.pk), request.user))
        return Response(
            MyOrderDetailSerializer(
                order_for_member(request.user, order.pk), context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )
