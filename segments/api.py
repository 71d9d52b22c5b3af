"""The operators' JSON API for segments and broadcasts, under /shop/. Scoped to the operator's shop (another
shop's segment or broadcast is a 404); any seat reads, operators and owners write."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from shequn.api import INVALID, NOT_FOUND, SHOP_DENIED
from shequn.shop_api import ShopView

from . import selectors, services
from .models import BroadcastState
from .serializers import (
    BroadcastSerializer,
    BroadcastWriteSerializer,
    InviteSerializer,
    InviteTallySerializer,
    SegmentMemberSerializer,
    SegmentSerializer,
    SegmentWriteSerializer,
    TagRuleSerializer,
)


def _segment_data(view, segment, http_status=status.HTTP_200_OK) -> Response:
    segment = selectors.segment_for_shop(view.shop, segment.pk)
    context = view.get_serializer_context() | {"counts": selectors.segment_counts([segment])}
    return Response(SegmentSerializer(segment, context=context).data, status=http_status)


@extend_schema(tags=["shop"])
class ShopSegmentsView(ShopView):
    serializer_class = SegmentWriteSerializer

    @extend_schema(
        summary="The shop's segments with their live member counts",
        responses={200: SegmentSerializer(many=True), 403: SHOP_DENIED},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.segments_for_shop(self.shop))
        context = self.get_serializer_context() | {"counts": selectors.segment_counts(list(page))}
        return self.get_paginated_response(SegmentSerializer(page, many=True, context=context).data)

    @extend_schema(
        summary="Save a new segment",
        request=SegmentWriteSerializer,
        responses={201: SegmentSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = services.save_segment(shop=self.shop, by=request.user, **serializer.validated_data)
        return _segment_data(self, segment, status.HTTP_201_CREATED)


@extend_schema(tags=["shop"])
class ShopSegmentView(ShopView):
    serializer_class = SegmentSerializer

    @extend_schema(
        summary="A segment and its live member count",
        responses={200: SegmentSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return _segment_data(self, selectors.segment_for_shop(self.shop, pk))


@extend_schema(tags=["shop"])
class ShopSegmentMembersView(ShopView):
    serializer_class = SegmentMemberSerializer

    @extend_schema(
        summary="A segment's members now, with their facts (biggest spenders first)",
        responses={200: SegmentMemberSerializer(many=True), 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        segment = selectors.segment_for_shop(self.shop, pk)
        return self.paginated(selectors.segment_members(segment), SegmentMemberSerializer)


@extend_schema(tags=["shop"])
class ShopSegmentInviteView(ShopView):
    serializer_class = InviteSerializer

    @extend_schema(
        summary="Invite a segment's members into a group (once per member and group, as a marketing message)",
        request=InviteSerializer,
        responses={200: InviteTallySerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        segment = selectors.segment_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tally = services.invite_segment(segment=segment, group=serializer.validated_data["group"], by=request.user)
        return Response(InviteTallySerializer(tally).data)


@extend_schema(tags=["shop"])
class ShopTagRulesView(ShopView):
    serializer_class = TagRuleSerializer

    @extend_schema(summary="The shop's automatic tags", responses={200: TagRuleSerializer(many=True), 403: SHOP_DENIED})
    def get(self, request):
        return self.paginated(selectors.rules_for_shop(self.shop), TagRuleSerializer)


@extend_schema(tags=["shop"])
class ShopBroadcastsView(ShopView):
    serializer_class = BroadcastWriteSerializer

    @extend_schema(
        summary="The shop's broadcasts, newest first", responses={200: BroadcastSerializer(many=True), 403: SHOP_DENIED}
    )
    def get(self, request):
        return self.paginated(selectors.broadcasts_for_shop(self.shop), BroadcastSerializer)

    @extend_schema(
        summary="A draft broadcast to a group or a segment (its preview comes with it)",
        request=BroadcastWriteSerializer,
        responses={201: BroadcastSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        broadcast = services.create_broadcast(shop=self.shop, by=request.user, **serializer.validated_data)
        return _broadcast_data(self, broadcast, status.HTTP_201_CREATED)


def _broadcast_data(view, broadcast, http_status=status.HTTP_200_OK) -> Response:
    broadcast = selectors.broadcast_for_shop(view.shop, broadcast.pk)
    previews = {broadcast.pk: services.preview(broadcast)} if broadcast.state == BroadcastState.DRAFT else {}
    context = view.get_serializer_context() | {"previews": previews}
    return Response(BroadcastSerializer(broadcast, context=context).data, status=http_status)


@extend_schema(tags=["shop"])
class ShopBroadcastView(ShopView):
    serializer_class = BroadcastSerializer

    @extend_schema(
        summary="A broadcast: a draft's preview (who would receive it now, who each rule leaves out) or its result",
        responses={200: BroadcastSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return _broadcast_data(self, selectors.broadcast_for_shop(self.shop, pk))


@extend_schema(tags=["shop"])
class ShopBroadcastSendView(ShopView):
    serializer_class = BroadcastSerializer

    @extend_schema(
        summary="Send a draft broadcast now (once)",
        request=None,
        responses={200: BroadcastSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        broadcast = selectors.broadcast_for_shop(self.shop, pk)
        services.send_broadcast(broadcast=broadcast, by=request.user)
        return _broadcast_data(self, broadcast)
