"""The JSON API of groups: member clients (H5, mini-program) under /me/ and /links/, operators under /shop/.

Views are thin: parse with a serializer, call groups.services (or read through groups.selectors), render.
Operator reads and writes are scoped to the operator's current shop (shequn.shop_api), so another shop's
object is a 404; a member's reads are scoped to the member, so someone else's membership is a 404 too.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response

from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED, error_doc, error_response
from shequn.client import request_fingerprint
from shequn.shop_api import ShopView

from . import selectors, services
from .serializers import (
    MEMBER_ACTIONS,
    GroupDetailSerializer,
    GroupFilterSerializer,
    GroupListSerializer,
    GroupTransitionSerializer,
    GroupWriteSerializer,
    JoinSerializer,
    LinkCreateSerializer,
    LinkLandingSerializer,
    MemberActionSerializer,
    MemberFilterSerializer,
    MyInviteLinkSerializer,
    MyMembershipSerializer,
    SeriesCreateSerializer,
    SeriesDetailSerializer,
    SeriesSerializer,
    ShopLinkSerializer,
    ShopMemberSerializer,
)
from .services import GROUP_FIELDS, JoinRefused, LinkOptions

# --- Member side ----------------------------------------------------------------------------------

# Why a join was refused → HTTP status. No such link is a 404, a missing answer a 400; every other
# refusal (full, exhausted, banned, archived, not_open, expired, revoked) conflicts with the state of things.
JOIN_REFUSAL_STATUS = {"invalid": status.HTTP_404_NOT_FOUND, "answer_required": status.HTTP_400_BAD_REQUEST}


def join_refused_response(exc: JoinRefused) -> Response:
    return error_response(
        exc.message,
        code=exc.reason,
        field="answer" if exc.reason == "answer_required" else None,
        http_status=JOIN_REFUSAL_STATUS.get(exc.reason, status.HTTP_409_CONFLICT),
    )


@extend_schema(tags=["member"])
class LinkLandingView(generics.GenericAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = LinkLandingSerializer

    @extend_schema(
        summary="Landing info of an invite link",
        description="What a joiner sees before joining. Open to anyone; each call counts as one open of the "
        "link. `problem` tells why the link cannot admit anyone right now (null when it can).",
        responses={200: LinkLandingSerializer, 404: error_doc("No link with this code (code invalid).")},
    )
    def get(self, request, code: str):
        try:
            link = services.find_link(code)
        except JoinRefused as exc:
            return join_refused_response(exc)
        services.record_link_open(link, user=request.user, client=services.Client(*request_fingerprint(request)))
        return Response(self.get_serializer(link).data)


@extend_schema(tags=["member"])
class LinkJoinView(generics.GenericAPIView):
    serializer_class = JoinSerializer

    @extend_schema(
        summary="Join through an invite link",
        description="Joins the link's group (or the series' current group), or asks to join when the group "
        "needs approval or a submission (status pending). 201 when this call created or renewed the "
        "membership, 200 when the member was already in (or already waiting); nothing is written on refusal. "
        "Refusal codes: invalid (404); answer_required (400, field answer); full, exhausted, banned, archived, "
        "not_open, expired, revoked (409).",
        request=JoinSerializer,
        responses={
            201: MyMembershipSerializer,
            200: MyMembershipSerializer,
            400: error_doc("answer_required, or invalid input."),
            403: DENIED,
            404: error_doc("No link with this code (code invalid)."),
            409: error_doc("The join is refused: full, exhausted, banned, archived, not_open, expired or revoked."),
        },
    )
    def post(self, request, code: str):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = timezone.now()
        try:
            membership = services.join_via_link(
                user=request.user,
                code=code,
                answer=serializer.validated_data["answer"],
                client=services.Client(*request_fingerprint(request)),
            )
        except JoinRefused as exc:
            return join_refused_response(exc)
        # The service stamps requested_at on every membership it creates or renews, and returns an
        # existing live membership untouched: so a fresh stamp means this call changed something.
        changed = membership.requested_at >= started
        return Response(
            MyMembershipSerializer(membership).data, status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK
        )


@extend_schema(tags=["member"])
class MyMembershipsView(generics.ListAPIView):
    serializer_class = MyMembershipSerializer

    def get_queryset(self):
        return selectors.memberships_for_member(self.request.user)

    @extend_schema(
        summary="My groups",
        description="The signed-in member's active and pending memberships.",
        responses={200: MyMembershipSerializer(many=True), 403: DENIED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["member"])
class MembershipLeaveView(generics.GenericAPIView):
    serializer_class = MyMembershipSerializer

    @extend_schema(
        summary="Leave a group",
        request=None,
        responses={
            200: MyMembershipSerializer,
            400: error_doc("Not in this group any more."),
            403: DENIED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        membership = selectors.membership_for_member(request.user, pk)
        membership = services.leave(membership=membership)
        return Response(self.get_serializer(membership).data)


@extend_schema(tags=["member"])
class MyInviteLinkView(generics.GenericAPIView):
    serializer_class = MyInviteLinkSerializer

    @extend_schema(
        summary="My invite link to a group",
        description="The member's own link to share the group, made once and then reused, with its QR code "
        "and poster addresses and how many people opened it and joined through it.",
        request=None,
        responses={
            200: MyInviteLinkSerializer,
            400: error_doc("A pending member cannot invite yet."),
            403: DENIED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        group = selectors.group_for_member(request.user, pk)
        link = services.personal_link(user=request.user, group=group)
        return Response(self.get_serializer(link).data)


# --- Operator side --------------------------------------------------------------------------------


class GroupShopView(ShopView):
    """An operator view that answers with a group or a series of the operator's shop."""

    def group_detail(self, pk: int) -> Response:
        group = selectors.group_for_shop(self.shop, pk)
        return Response(GroupDetailSerializer(group, context=self.get_serializer_context()).data)

    def series_detail(self, pk: int) -> Response:
        # series_for_shop, not series_detail_for_shop: it brings the groups in series order and the tags.
        series = get_object_or_404(selectors.series_for_shop(self.shop), pk=pk)
        series.api_links = selectors.links_of_series(series)
        return Response(SeriesDetailSerializer(series, context=self.get_serializer_context()).data)


@extend_schema(tags=["shop"])
class ShopGroupsView(GroupShopView):
    serializer_class = GroupWriteSerializer

    @extend_schema(
        summary="The shop's groups",
        parameters=[GroupFilterSerializer],
        responses={200: GroupListSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        filters = GroupFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        groups = selectors.groups_for_shop(
            self.shop, state=f.get("state"), tag_id=f.get("tag"), series_id=f.get("series"), q=f.get("q")
        )
        return self.paginated(groups, GroupListSerializer)

    @extend_schema(
        summary="Create a group",
        description="A new group starts in state preparing; move it on with /transition/. Capacity defaults to "
        "the shop's default and may not exceed the shop's hard cap.",
        request=GroupWriteSerializer,
        responses={201: GroupDetailSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        group = services.create_group(
            shop=self.shop, name=data.pop("name"), tags=data.pop("tags", []), by=request.user, **data
        )
        response = self.group_detail(group.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


@extend_schema(tags=["shop"])
class ShopGroupView(GroupShopView):
    serializer_class = GroupWriteSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(
        summary="A group of the shop", responses={200: GroupDetailSerializer, 403: SHOP_DENIED, 404: NOT_FOUND}
    )
    def get(self, request, pk: int):
        return self.group_detail(pk)

    @extend_schema(
        summary="Change a group's settings",
        description="Send only the fields to change; `tags` replaces the group's tags when present.",
        request=GroupWriteSerializer(partial=True),
        responses={200: GroupDetailSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        group = selectors.group_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        settings_fields = {key: changes.get(key, getattr(group, key)) for key in GROUP_FIELDS}
        services.update_group(
            group=group,
            by=request.user,
            name=changes.get("name", group.name),
            tags=changes["tags"] if "tags" in changes else list(group.tags.all()),
            **settings_fields,
        )
        return self.group_detail(pk)


@extend_schema(tags=["shop"])
class ShopGroupTransitionView(GroupShopView):
    serializer_class = GroupTransitionSerializer

    @extend_schema(
        summary="Move a group to another lifecycle state",
        description="Allowed moves are listed in the group's `allowed_transitions`.",
        request=GroupTransitionSerializer,
        responses={200: GroupDetailSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        group = selectors.group_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.move_group(
            group=group,
            to_state=serializer.validated_data["to_state"],
            by=request.user,
            reason=serializer.validated_data["reason"],
        )
        return self.group_detail(pk)


@extend_schema(tags=["shop"])
class ShopGroupMembersView(ShopView):
    serializer_class = ShopMemberSerializer

    @extend_schema(
        summary="Members of a group",
        parameters=[MemberFilterSerializer],
        responses={200: ShopMemberSerializer(many=True), 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = selectors.group_for_shop(self.shop, pk)
        filters = MemberFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.members_of_group(group, status=filters.validated_data.get("status")), ShopMemberSerializer
        )


@extend_schema(tags=["shop"])
class ShopMemberActionView(ShopView):
    serializer_class = MemberActionSerializer

    @extend_schema(
        summary="Decide on a member",
        description="approve or reject a pending request; remove, ban or unban a member; set-role (body: role). "
        "`reason` is recorded for reject, remove and ban.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(MEMBER_ACTIONS)),
        ],
        request=MemberActionSerializer,
        responses={200: ShopMemberSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, action: str):
        membership = selectors.membership_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data, context={**self.get_serializer_context(), "action": action})
        serializer.is_valid(raise_exception=True)
        by, reason, role = request.user, serializer.validated_data["reason"], serializer.validated_data.get("role")
        actions = {
            "approve": lambda: services.approve(membership=membership, by=by),
            "reject": lambda: services.reject(membership=membership, by=by, reason=reason),
            "remove": lambda: services.remove(membership=membership, by=by, reason=reason),
            "ban": lambda: services.ban(membership=membership, by=by, reason=reason),
            "unban": lambda: services.unban(membership=membership, by=by),
            "set-role": lambda: services.set_role(membership=membership, by=by, role=role),
        }
        actions[action]()
        membership = selectors.members_of_group(membership.group).get(pk=membership.pk)
        return Response(ShopMemberSerializer(membership, context=self.get_serializer_context()).data)


@extend_schema(tags=["shop"])
class ShopGroupLinksView(ShopView):
    serializer_class = LinkCreateSerializer

    @extend_schema(
        summary="Invite links of a group",
        responses={200: ShopLinkSerializer(many=True), 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = selectors.group_for_shop(self.shop, pk)
        # The group rides along so each link's `problem` needs no query of its own.
        return self.paginated(selectors.links_of_group(group).select_related("group"), ShopLinkSerializer)

    @extend_schema(
        summary="Create a channel link to a group",
        description="A link for one channel (poster, parcel card, partner group…), optionally "
        "expiring and capped in uses.",
        request=LinkCreateSerializer,
        responses={201: ShopLinkSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        group = selectors.group_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.create_link(
            shop=self.shop,
            by=request.user,
            inviter=request.user,
            group=group,
            options=LinkOptions(**serializer.validated_data),
        )
        return Response(
            ShopLinkSerializer(link, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["shop"])
class ShopLinkRevokeView(ShopView):
    serializer_class = ShopLinkSerializer

    @extend_schema(
        summary="Revoke an invite link",
        description="Revoking twice changes nothing.",
        request=None,
        responses={200: ShopLinkSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        link = services.revoke_link(link=selectors.link_for_shop(self.shop, pk), by=request.user)
        return Response(self.get_serializer(link).data)


@extend_schema(tags=["shop"])
class ShopSeriesListView(GroupShopView):
    serializer_class = SeriesCreateSerializer

    @extend_schema(
        summary="The shop's group series (群活码)", responses={200: SeriesSerializer(many=True), 403: SHOP_DENIED}
    )
    def get(self, request):
        return self.paginated(selectors.series_for_shop(self.shop), SeriesSerializer)

    @extend_schema(
        summary="Create a group series",
        description="Creates the series, its permanent public link (channel series_code) and its first group.",
        request=SeriesCreateSerializer,
        responses={201: SeriesDetailSerializer, 400: INVALID, 403: SHOP_DENIED},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        series = services.create_series(
            shop=self.shop, name=data.pop("name"), tags=data.pop("tags", []), by=request.user, **data
        )
        response = self.series_detail(series.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


@extend_schema(tags=["shop"])
class ShopSeriesDetailView(GroupShopView):
    serializer_class = SeriesDetailSerializer

    @extend_schema(
        summary="A group series with its groups and links",
        responses={200: SeriesDetailSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return self.series_detail(pk)
