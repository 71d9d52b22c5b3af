"""The engine's JSON API for members: read a campaign (its landing page's content, and each type's own
fields from its kind's `api_fields`). Each type's own API is its kind's `api_urls` module; a draft campaign
is a 404."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from groups.models import MembershipStatus
from groups.selectors import memberships_for_member
from orders.api import TransitionRefusedIsAConflict
from shequn.api import DENIED, INVALID, NOT_FOUND, error_response

from . import registry, selectors
from .serializers import CampaignSerializer, GroupCampaignSerializer, ParticipationSerializer

PARTICIPATIONS_LISTED = 200  # of each type, before the page (limit/offset) is cut


@extend_schema(tags=["member"])
class CampaignView(TransitionRefusedIsAConflict, generics.GenericAPIView):
    serializer_class = CampaignSerializer

    @extend_schema(
        summary="A campaign (its landing page's content and rules)",
        responses={200: CampaignSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        campaign = selectors.public_campaign(pk)
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data)


@extend_schema(tags=["member"])
class GroupCampaignsView(generics.GenericAPIView):
    serializer_class = GroupCampaignSerializer
    pagination_class = None

    @extend_schema(
        summary="The campaigns running in one of my groups, with my own part in each",
        responses={200: GroupCampaignSerializer(many=True), 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        membership = memberships_for_member(request.user).filter(group_id=pk, status=MembershipStatus.ACTIVE).first()
        if membership is None:  # not (or not yet) in the group: nothing runs there for them
            raise Http404
        offers = selectors.group_offers(membership.group, request.user)
        return Response(GroupCampaignSerializer(offers, many=True).data)


@extend_schema(tags=["member"])
class MyParticipationsView(generics.GenericAPIView):
    serializer_class = ParticipationSerializer

    @extend_schema(
        summary="My own teams, bargains, help tasks and coupons, each type newest first",
        parameters=[OpenApiParameter("type", str, description="Only this campaign type (group_buy, bargain…)")],
        responses={200: ParticipationSerializer(many=True), 400: INVALID, 403: DENIED},
    )
    def get(self, request):
        wanted = request.query_params.get("type") or None
        if wanted is not None and wanted not in {kind.code for kind in registry.all()}:
            return error_response(_("未知的活动类型。"), code="invalid", field="type")
        items = [
            {"type": section["type"], **item}
            for section in selectors.participations(request.user, type=wanted, limit=PARTICIPATIONS_LISTED)
            for item in section["items"]
        ]
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ParticipationSerializer(page, many=True).data)
