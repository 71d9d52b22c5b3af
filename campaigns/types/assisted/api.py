"""What the member APIs of the friend-assisted types (帮 助力, 砍 砍价) share: the share-token parameter,
the refusal answer (a 409 whose `code` is the reason and whose message says it in words), the delivery
input, the Idempotency-Key check and the base view that reads the share token and finds a campaign of one
type. Each type's own API is its package's api.py.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from campaigns import selectors, services
from orders.api import IDEMPOTENCY_HEADER
from orders.models import Delivery
from orders.serializers import RecipientPhoneField
from orders.services import DeliveryRequest
from shequn.api import error_doc, error_response
from shequn.serializers import person

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


class PricedDeliverySerializer(DeliverySerializer):
    """A campaign order's delivery and the member's pricing choices (the order core's pricing step checks
    them: a coupon must be allowed with a campaign price)."""

    choices = serializers.DictField(
        child=serializers.CharField(max_length=60, allow_blank=True),
        required=False,
        default=dict,
        help_text='结账时的优惠选择，如 {"coupon": "12"}（仅限允许与活动价同享的券）或 {"points": "300"}。',
    )


def _refused(exc) -> Response:
    return error_response(exc.message_text, code=exc.reason, http_status=status.HTTP_409_CONFLICT)


def _idempotency_key(request) -> tuple[str, Response | None]:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return key, error_response(_("下单需要 Idempotency-Key 请求头。"), code="required", field=IDEMPOTENCY_HEADER)
    if len(key) > 64:
        return key, error_response(_("Idempotency-Key 最长 64 个字符。"), code="invalid", field=IDEMPOTENCY_HEADER)
    return key, None


def task_data(task, user, *, acts: list | None, still_open: bool) -> dict:
    """What every friend-assisted task's answer holds: who started it, its state and time, its order (for
    the starter only) and the share link (for those in it, while it is open). Each type adds its own.
    `acts`: all the task's acts when loaded anyway; None asks the database (FriendTask.acted)."""
    return {
        "id": task.pk,
        "campaign": task.campaign_id,
        "starter": person(task.starter),
        "state": task.state,
        "expires_at": task.expires_at,
        "order": task.order_id if user.pk == task.starter_id else None,
        "share_url": services.share_link(task.campaign, task.starter, task)
        if task.involves(user, acts) and still_open
        else "",
    }


class SocialView(generics.GenericAPIView):
    # A type's views set how its task is read with its acts (`load_task`, raising the model's DoesNotExist).
    task_model = None

    def load_task(self, pk: int):
        raise NotImplementedError

    def token_inviter(self, campaign):
        return services.inviter_from_token(campaign, self.request.query_params.get("by"))

    def visible_task(self, pk: int):
        """The task, if its campaign is public and the member may see it (FriendTask.visible_to); else 404."""
        try:
            task = self.load_task(pk)
        except self.task_model.DoesNotExist:
            raise Http404 from None
        if task.campaign.state not in selectors.PUBLIC_STATES or not task.visible_to(
            self.request.user, self.token_inviter(task.campaign)
        ):
            raise Http404
        return task

    def campaign_of_type(self, pk: int, campaign_type: str):
        campaign = selectors.public_campaign(pk)
        if campaign.type != campaign_type:
            raise Http404
        return campaign
