"""The JSON API of 打卡 for member clients, included by campaigns/api_urls.py at /api/v1/ (api_urls.py).

Thin views: parse, call the type's rules (kind.py), render. The campaign is public; what a member reads is
their own standing and the feed of a group of the campaign they are in. A refused check-in is a 409 whose
`code` is the reason (already, window, not_member, photo_needed, text_short, no_card…).
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from campaigns import services
from campaigns.models import CampaignType, CheckIn
from shequn.api import DENIED, NOT_FOUND, SHOP_DENIED, error_doc, error_response
from shequn.serializers import person
from shequn.shop_api import ShopView

from ..assisted.api import REFUSED, PersonField, SocialView, _refused
from . import kind as checkin
from .kind import CheckinRefused


class FeedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = PersonField()
    at = serializers.DateTimeField()
    text = serializers.CharField()
    made_up = serializers.BooleanField()
    thumbnail = serializers.CharField(help_text="The photo's thumbnail URL (empty without a photo).")
    photo = serializers.CharField(help_text="The photo's URL (empty without a photo).")


class CheckinStateSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    today = serializers.DateField(help_text="The shop's day (Asia/Shanghai) a check-in now counts for.")
    checked_in_today = serializers.BooleanField()
    can_check_in = serializers.BooleanField()
    problem = serializers.CharField(help_text="Why the member cannot check in now (a refusal code), or empty.")
    streak = serializers.IntegerField(help_text="Consecutive days still alive (ending today or yesterday).")
    best_streak = serializers.IntegerField()
    total_days = serializers.IntegerField()
    cards_left = serializers.IntegerField(help_text="Make-up cards (补卡) the member may still use.")
    makeup_days = serializers.ListField(child=serializers.DateField(), help_text="Days a card could fill now.")
    milestones = serializers.ListField(child=serializers.IntegerField(), help_text="Milestones (days) granted.")
    feed = FeedItemSerializer(many=True, help_text="Today's check-ins of the member's group, newest first.")


class CheckInRequestSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=checkin.MAX_TEXT_LENGTH)
    photo = serializers.FileField(required=False, help_text="A photo (multipart), when the campaign asks for one.")


class MakeUpRequestSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The missed day to fill (YYYY-MM-DD).")


def _feed_item(c) -> dict:
    return {
        "id": c.pk,
        "member": person(c.member),
        "at": c.at,
        "text": c.text,
        "made_up": c.made_up,
        "thumbnail": c.thumbnail.url if c.thumbnail else "",
        "photo": c.photo.url if c.photo else "",
    }


def state_data(campaign, user) -> dict:
    now = timezone.now()
    today = checkin.shop_day(now)
    groups = services.member_groups_for(campaign, user)
    standing = checkin.standing_of(campaign, user)
    problem = checkin.check_in_problem(campaign, user, now=now) or ""
    return {
        "campaign": campaign.pk,
        "today": today,
        "checked_in_today": problem == "already",
        "can_check_in": problem == "",
        "problem": problem,
        "streak": checkin.current_streak(standing, today),
        "best_streak": standing.best_streak if standing else 0,
        "total_days": standing.total_days if standing else 0,
        "cards_left": checkin.cards_left(campaign, standing),
        "makeup_days": checkin.missing_days(campaign, user, today) if groups else [],
        "milestones": list(
            campaign.checkin_milestones.filter(member=user).order_by("days").values_list("days", flat=True)
        ),
        "feed": [_feed_item(c) for c in checkin.feed(campaign, groups[0], today)] if groups else [],
    }


@extend_schema(tags=["member"])
class MyCheckinView(SocialView):
    serializer_class = CheckinStateSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="My check-in state (打卡): today, streak, cards, today's feed of my group",
        responses={200: CheckinStateSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.CHECKIN)
        return Response(CheckinStateSerializer(state_data(campaign, request.user)).data)

    @extend_schema(
        summary="Check in for today (打卡)",
        description="Once per member and day (the shop's day, Asia/Shanghai), inside the daily window, with "
        "the campaign's proof (a text of the least length, or a photo as multipart). Returns the state.",
        request=CheckInRequestSerializer,
        responses={
            201: CheckinStateSerializer,
            400: error_doc("The photo is not an image the shop takes."),
            403: DENIED,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.CHECKIN)
        given = CheckInRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            checkin.check_in(
                campaign=campaign,
                member=request.user,
                text=given.validated_data.get("text", ""),
                photo=given.validated_data.get("photo"),
            )
        except CheckinRefused as exc:
            return _refused(exc)
        except ValidationError as exc:
            return error_response(exc.messages[0], code="invalid", field="photo")
        return Response(CheckinStateSerializer(state_data(campaign, request.user)).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MyCheckinMakeUpView(SocialView):
    serializer_class = MakeUpRequestSerializer

    @extend_schema(
        summary="Fill a missed day with a make-up card (补卡)",
        request=MakeUpRequestSerializer,
        responses={
            201: CheckinStateSerializer,
            400: error_doc("No valid day."),
            403: DENIED,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request, pk: int):
        campaign = self.campaign_of_type(pk, CampaignType.CHECKIN)
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        day: date = given.validated_data["day"]
        try:
            checkin.make_up(campaign=campaign, member=request.user, day=day)
        except CheckinRefused as exc:
            return _refused(exc)
        return Response(CheckinStateSerializer(state_data(campaign, request.user)).data, status=status.HTTP_201_CREATED)


# --- Operators: moderating the feed ---------------------------------------------------------------------


class ShopFeedItemSerializer(FeedItemSerializer):
    campaign = serializers.IntegerField()
    group = serializers.IntegerField()
    day = serializers.DateField()
    hidden = serializers.BooleanField(help_text="Hidden from the group's feed (it still counts for the member).")
    hidden_at = serializers.DateTimeField(allow_null=True)
    hidden_by = serializers.IntegerField(allow_null=True, help_text="The operator who hid it.")


def _shop_feed_item(c) -> dict:
    return {
        **_feed_item(c),
        "campaign": c.campaign_id,
        "group": c.group_id,
        "day": c.day,
        "hidden": c.hidden_at is not None,
        "hidden_at": c.hidden_at,
        "hidden_by": c.hidden_by_id,
    }


def _shop_hidden_view(summary: str, *, hidden: bool):
    @extend_schema(tags=["shop"])
    class View(ShopView):
        """An operator hides a check-in from its group's feed (or shows it again): the operator's shop only
        (another shop's is a 404), recorded in the audit log by the type's rules (kind.set_hidden)."""

        serializer_class = ShopFeedItemSerializer

        @extend_schema(
            summary=summary,
            request=None,
            responses={200: ShopFeedItemSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
        )
        def post(self, request, pk: int):
            check_in = get_object_or_404(
                CheckIn.objects.select_related("member", "campaign"), pk=pk, campaign__shop=self.shop
            )
            check_in = checkin.set_hidden(check_in=check_in, by=request.user, hidden=hidden)
            return Response(ShopFeedItemSerializer(_shop_feed_item(check_in)).data)

    return View


ShopCheckinHideView = _shop_hidden_view("Hide a check-in from its group's feed (kept, still counted)", hidden=True)
ShopCheckinHideView.__name__ = "ShopCheckinHideView"
ShopCheckinShowView = _shop_hidden_view("Show a hidden check-in in its group's feed again", hidden=False)
ShopCheckinShowView.__name__ = "ShopCheckinShowView"
