"""The JSON API of 拼团 for members, included by campaigns/api_urls.py at /api/v1/: a campaign's open
teams, a team, open a team, join a team, list my teams. Views parse, call the group-buy service, render;
another campaign's team, another type's campaign or a draft campaign is a 404. Opening and joining need
an Idempotency-Key header, as placing any order does."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from campaigns import selectors, services
from campaigns.models import CampaignType, TeamSeat
from orders.api import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY, TransitionRefusedIsAConflict
from orders.services import DeliveryRequest
from shequn.api import DENIED, INVALID, NOT_FOUND, error_response

from . import kind as group_buy
from .serializers import SeatSerializer, TeamOrderSerializer, TeamSerializer


class CampaignMemberView(TransitionRefusedIsAConflict, generics.GenericAPIView):
    def group_buy_campaign(self, pk: int):
        campaign = selectors.public_campaign(pk)
        if campaign.type != CampaignType.GROUP_BUY:
            raise Http404
        return campaign

    def seat_response(self, seat: TeamSeat, http_status: int) -> Response:
        seat = TeamSeat.objects.select_related("team__leader", "campaign", "member", "order").get(pk=seat.pk)
        return Response(SeatSerializer(seat, context=self.get_serializer_context()).data, status=http_status)

    def order_call(self, request, campaign) -> dict | Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > 64:
            return error_response(
                _("需要 1–64 个字符的 Idempotency-Key 请求头。"), code="required", field=IDEMPOTENCY_HEADER
            )
        serializer = TeamOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        group = next((g for g in services.member_groups_for(campaign, request.user) if g.pk == data["group"]), None)
        if group is None:
            raise ValidationError({"group": _("请选择你所在的活动群。")})
        inviter = services.inviter_from_token(campaign, data["by"])
        return {
            "member": request.user,
            "group": group,
            "idempotency_key": key,
            "request": request,
            "choices": data["choices"],
            "inviter": inviter if inviter is not None and inviter.pk != request.user.pk else None,
            "delivery": DeliveryRequest(
                method=data["delivery"],
                recipient_name=data["recipient_name"],
                recipient_phone=data["recipient_phone"],
                address=data["address"],
                pickup_point_id=data["pickup_point"],
            ),
        }


@extend_schema(tags=["member"])
class CampaignTeamsView(CampaignMemberView):
    serializer_class = TeamOrderSerializer

    @extend_schema(
        summary="Open teams of a group buy that still have seats",
        responses={200: TeamSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = self.group_buy_campaign(pk)
        teams = selectors.joinable_teams(campaign, exclude_member=request.user, limit=20)
        return Response(TeamSerializer(teams, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Open a team (开团)",
        description="Places the leader's order at the group price (less the leader discount) in state "
        "pending_payment; pay it with /me/orders/{id}/pay/. The team opens when the payment lands. The same "
        "Idempotency-Key returns the same seat (200; 201 when this call made it).",
        parameters=[IDEMPOTENCY_KEY],
        request=TeamOrderSerializer,
        responses={201: SeatSerializer, 200: SeatSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        campaign = self.group_buy_campaign(pk)
        call = self.order_call(request, campaign)
        if isinstance(call, Response):
            return call
        before = TeamSeat.objects.filter(member=request.user, order__idempotency_key=call["idempotency_key"]).exists()
        seat = group_buy.open_team(campaign=campaign, **call)
        return self.seat_response(seat, status.HTTP_200_OK if before else status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class TeamView(CampaignMemberView):
    serializer_class = TeamSerializer

    @extend_schema(
        summary="A team: members, seats left, expiry", responses={200: TeamSerializer, 403: DENIED, 404: NOT_FOUND}
    )
    def get(self, request, pk: int, team_pk: int):
        team = selectors.team_of_campaign(self.group_buy_campaign(pk), team_pk)
        return Response(TeamSerializer(team, context=self.get_serializer_context()).data)


@extend_schema(tags=["member"])
class TeamJoinView(CampaignMemberView):
    serializer_class = TeamOrderSerializer

    @extend_schema(
        summary="Join a team (参团)",
        description="Places the member's order at the group price; the seat is decided when the payment lands "
        "(a payment that finds the team full, failed or expired is refunded automatically). Pass the share "
        "link's `by` token to credit the member who shared it.",
        parameters=[IDEMPOTENCY_KEY],
        request=TeamOrderSerializer,
        responses={201: SeatSerializer, 200: SeatSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, team_pk: int):
        campaign = self.group_buy_campaign(pk)
        team = selectors.team_of_campaign(campaign, team_pk)
        call = self.order_call(request, campaign)
        if isinstance(call, Response):
            return call
        before = TeamSeat.objects.filter(member=request.user, order__idempotency_key=call["idempotency_key"]).exists()
        seat = group_buy.join_team(team=team, **call)
        return self.seat_response(seat, status.HTTP_200_OK if before else status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MyTeamsView(CampaignMemberView):
    serializer_class = SeatSerializer

    @extend_schema(summary="My team seats, newest first", responses={200: SeatSerializer(many=True), 403: DENIED})
    def get(self, request):
        seats = selectors.seats_for_member(request.user).select_related("team__leader", "member")
        page = self.paginate_queryset(seats)
        return self.get_paginated_response(SeatSerializer(page, many=True, context=self.get_serializer_context()).data)
