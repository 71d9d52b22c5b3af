"""The group space's JSON API: members under /me/groups/<id>/space/ (joined members only, anyone else 404),
operators under /shop/ (scoped to the operator's shop). Thin: groups.space decides, space_selectors reads.
A power lacking (groups.powers) is a 403; bad input a 400 naming the field."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import User
from shequn.api import DENIED, INVALID, NOT_FOUND, SHOP_DENIED, error_doc
from shequn.serializers import person
from shequn.shop_api import ShopView

from . import selectors as group_selectors
from . import space
from . import space_selectors as selectors
from .space_models import PostKind, space_settings_for
from .space_serializers import (
    AnnouncementCreateSerializer,
    GroupContactSerializer,
    GroupReplyTimesSerializer,
    ReplyTimesFilterSerializer,
    ResponderReplyTimesSerializer,
    ShopSpaceFilterSerializer,
    ShopSpacePostSerializer,
    SpaceFilterSerializer,
    SpacePostCreateSerializer,
    SpacePostDetailSerializer,
    SpacePostSerializer,
    SpaceReplySerializer,
)

PARSERS = [MultiPartParser, FormParser, JSONParser]  # photos come as multipart files
POWER_DENIED = error_doc("Not signed in, or the group power is lacking (groups.powers).")


def _seconds(wait) -> int | None:
    return None if wait is None else int(wait.total_seconds())


# --- Members ------------------------------------------------------------------------------------------


class MemberSpaceView(generics.GenericAPIView):
    parser_classes = PARSERS

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "group_id": self.kwargs.get("pk")}

    def detail(self, group, post, *, http_status=status.HTTP_200_OK) -> Response:
        post = selectors.visible_post(group, post.pk)
        post.comment_list = list(selectors.comments_of(post))
        return Response(SpacePostDetailSerializer(post, context=self.get_serializer_context()).data, status=http_status)


@extend_schema(tags=["member"])
class MySpacePostsView(MemberSpaceView):
    serializer_class = SpacePostCreateSerializer

    @extend_schema(
        summary="The group space's posts",
        description="Visible announcements, posts and questions, newest first (filter with kind). Joined members "
        "only. Photos are addresses of the member pages (signed-in session).",
        parameters=[SpaceFilterSerializer],
        responses={200: SpacePostSerializer(many=True), 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        filters = SpaceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.visible_posts(group, kind=filters.validated_data.get("kind")))
        data = SpacePostSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Post, ask or announce in the group space",
        description="kind post or question for every joined member; announcement needs the post_announcements "
        "power (群主, 群管理, the shop's operators). Up to 6 photos (multipart), each a real image.",
        request={"multipart/form-data": SpacePostCreateSerializer, "application/json": SpacePostCreateSerializer},
        responses={201: SpacePostDetailSerializer, 400: INVALID, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        post = space.create_post(
            group=group, actor=space.Actor(request.user), kind=data["kind"], body=data["body"], photos=data["photos"]
        )
        return self.detail(group, post, http_status=status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MySpacePostView(MemberSpaceView):
    serializer_class = SpacePostDetailSerializer

    @extend_schema(
        summary="A post of the group space with its replies",
        responses={200: SpacePostDetailSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int, post: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        return self.detail(group, selectors.visible_post(group, post))


@extend_schema(tags=["member"])
class MySpaceReplyView(MemberSpaceView):
    serializer_class = SpaceReplySerializer

    @extend_schema(
        summary="Reply to a post (answer a question)",
        description="On a question, the first reply by anyone but the asker is its first reply (its time counts "
        "against the shop's target). Up to 3 photos.",
        request={"multipart/form-data": SpaceReplySerializer, "application/json": SpaceReplySerializer},
        responses={201: SpacePostDetailSerializer, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, post: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        the_post = selectors.visible_post(group, post)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        space.add_comment(
            post=the_post,
            actor=space.Actor(request.user),
            body=serializer.validated_data["body"],
            photos=serializer.validated_data["photos"],
        )
        return self.detail(group, the_post, http_status=status.HTTP_201_CREATED)


@extend_schema(tags=["member"])
class MySpaceAnsweredView(MemberSpaceView):
    serializer_class = SpacePostDetailSerializer

    @extend_schema(
        summary="Mark a question answered",
        description="By its asker, or with the answer_questions power. A second call changes nothing.",
        request=None,
        responses={200: SpacePostDetailSerializer, 400: INVALID, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, post: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        the_post = space.mark_answered(post=selectors.visible_post(group, post), actor=space.Actor(request.user))
        return self.detail(group, the_post)


@extend_schema(tags=["member"])
class MySpaceHideView(MemberSpaceView):
    serializer_class = None

    @extend_schema(
        summary="Hide a post from members",
        description="Needs the hide_posts power. The post is kept (operators see and may restore it).",
        request=None,
        responses={204: None, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, post: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        space.hide_post(post=selectors.visible_post(group, post), actor=space.Actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["member"])
class MySpaceCommentHideView(MemberSpaceView):
    serializer_class = None

    @extend_schema(
        summary="Hide one reply from members",
        description="Needs the hide_posts power. The reply is kept (operators see and may restore it); a "
        "question's first-reply time stays.",
        request=None,
        responses={204: None, 403: POWER_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int, post: int, comment: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        the_post = selectors.visible_post(group, post)
        space.hide_comment(comment=selectors.visible_comment(the_post, comment), actor=space.Actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["member"])
class MySpaceContactView(MemberSpaceView):
    serializer_class = GroupContactSerializer

    @extend_schema(
        summary="The group's WeChat group QR code and service contact",
        description="Joined members only. wechat_qr_url is null once the code expired.",
        responses={200: GroupContactSerializer, 403: DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group, _membership = selectors.space_group_for_member(request.user, pk)
        contact = selectors.contact_of(group)
        shown = contact is not None and contact.qr_shown()
        return Response(
            {
                "service_contact": contact.service_contact if contact else "",
                "wechat_qr_url": request.build_absolute_uri(f"/m/groups/{group.pk}/space/wechat-qr/")
                if shown
                else None,
                "wechat_qr_expires_at": contact.wechat_qr_expires_at if shown else None,
            }
        )


# --- Operators ------------------------------------------------------------------------------------------


class ShopSpaceView(ShopView):
    parser_classes = PARSERS

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "operator": True}

    def actor(self) -> space.Actor:
        return space.Actor(self.request.user, as_operator=True)

    def post_data(self, post, http_status=status.HTTP_200_OK) -> Response:
        post = selectors.post_for_shop(self.shop, post.pk)
        return Response(ShopSpacePostSerializer(post, context=self.get_serializer_context()).data, status=http_status)


@extend_schema(tags=["shop"])
class ShopSpacePostsView(ShopSpaceView):
    serializer_class = AnnouncementCreateSerializer

    @extend_schema(
        summary="A group's space: every post, hidden ones too",
        parameters=[ShopSpaceFilterSerializer],
        responses={200: ShopSpacePostSerializer(many=True), 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        group = group_selectors.group_for_shop(self.shop, pk)
        filters = ShopSpaceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        posts = selectors.all_posts(
            group, kind=filters.validated_data.get("kind"), hidden=filters.validated_data["hidden"]
        )
        return self.paginated(posts, ShopSpacePostSerializer)

    @extend_schema(
        summary="Post an announcement in a group's space",
        request={"multipart/form-data": AnnouncementCreateSerializer, "application/json": AnnouncementCreateSerializer},
        responses={201: ShopSpacePostSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        group = group_selectors.group_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = space.create_post(
            group=group,
            actor=self.actor(),
            kind=PostKind.ANNOUNCEMENT,
            body=serializer.validated_data["body"],
            photos=serializer.validated_data["photos"],
        )
        return self.post_data(post, status.HTTP_201_CREATED)


@extend_schema(tags=["shop"])
class ShopSpaceReplyView(ShopSpaceView):
    serializer_class = SpaceReplySerializer

    @extend_schema(
        summary="Reply to a post (answer a question) as the shop",
        request={"multipart/form-data": SpaceReplySerializer, "application/json": SpaceReplySerializer},
        responses={201: ShopSpacePostSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        post = selectors.post_for_shop(self.shop, pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        space.add_comment(
            post=post,
            actor=self.actor(),
            body=serializer.validated_data["body"],
            photos=serializer.validated_data["photos"],
        )
        return self.post_data(post, status.HTTP_201_CREATED)


def _shop_post_action(summary: str, action):
    @extend_schema(tags=["shop"])
    class View(ShopSpaceView):
        serializer_class = ShopSpacePostSerializer

        @extend_schema(
            summary=summary,
            request=None,
            responses={200: ShopSpacePostSerializer, 400: INVALID, 403: SHOP_DENIED, 404: NOT_FOUND},
        )
        def post(self, request, pk: int):
            post = selectors.post_for_shop(self.shop, pk)
            action(post=post, actor=self.actor())
            return self.post_data(post)

    return View


ShopSpaceAnsweredView = _shop_post_action("Mark a question answered", space.mark_answered)
ShopSpaceAnsweredView.__name__ = "ShopSpaceAnsweredView"
ShopSpaceHideView = _shop_post_action("Hide a post from members (kept)", space.hide_post)
ShopSpaceHideView.__name__ = "ShopSpaceHideView"
ShopSpaceRestoreView = _shop_post_action("Show a hidden post again", space.restore_post)
ShopSpaceRestoreView.__name__ = "ShopSpaceRestoreView"


def _shop_comment_action(summary: str, action):
    @extend_schema(tags=["shop"])
    class View(ShopSpaceView):
        serializer_class = ShopSpacePostSerializer

        @extend_schema(
            summary=summary,
            description="Answers the reply's post (its comments are the visible ones).",
            request=None,
            responses={200: ShopSpacePostSerializer, 403: SHOP_DENIED, 404: NOT_FOUND},
        )
        def post(self, request, pk: int):
            comment = selectors.comment_for_shop(self.shop, pk)
            action(comment=comment, actor=self.actor())
            return self.post_data(comment.post)

    return View


ShopSpaceCommentHideView = _shop_comment_action("Hide one reply from members (kept)", space.hide_comment)
ShopSpaceCommentHideView.__name__ = "ShopSpaceCommentHideView"
ShopSpaceCommentRestoreView = _shop_comment_action("Show a hidden reply again", space.restore_comment)
ShopSpaceCommentRestoreView.__name__ = "ShopSpaceCommentRestoreView"


class _ReplyTimes(ShopView):
    def window(self):
        filters = ReplyTimesFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        target = timedelta(minutes=space_settings_for(self.shop.pk).reply_target_minutes)
        return timezone.now() - timedelta(days=int(filters.validated_data["days"])), target


@extend_schema(tags=["shop"])
class ShopReplyTimesByGroupView(_ReplyTimes):
    serializer_class = GroupReplyTimesSerializer

    @extend_schema(
        summary="First-reply times per group",
        description="Questions of the last `days` (7, 30 or 90) per group: asked, replied, first replied within "
        "the shop's target (default 5 minutes), average and slowest first reply in seconds.",
        parameters=[ReplyTimesFilterSerializer],
        responses={200: GroupReplyTimesSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        since, target = self.window()
        page = self.paginate_queryset(selectors.reply_times_by_group(self.shop, since=since, target=target))
        rows = [
            {
                "group": {"id": row["group_id"], "name": row["group__name"]},
                "asked": row["asked"],
                "replied": row["replied"],
                "within_target": row["within"],
                "average_seconds": _seconds(row["average"]),
                "slowest_seconds": _seconds(row["slowest"]),
            }
            for row in page
        ]
        return self.get_paginated_response(rows)


@extend_schema(tags=["shop"])
class ShopReplyTimesByResponderView(_ReplyTimes):
    serializer_class = ResponderReplyTimesSerializer

    @extend_schema(
        summary="First-reply times per responder",
        description="Who gave the first reply to questions of the last `days`, how often within the target.",
        parameters=[ReplyTimesFilterSerializer],
        responses={200: ResponderReplyTimesSerializer(many=True), 400: INVALID, 403: SHOP_DENIED},
    )
    def get(self, request):
        since, target = self.window()
        page = self.paginate_queryset(selectors.reply_times_by_responder(self.shop, since=since, target=target))
        people = User.objects.in_bulk([row["first_responder_id"] for row in page])
        rows = [
            {
                "responder": person(people[row["first_responder_id"]]),
                "first_replies": row["replies"],
                "within_target": row["within"],
                "average_seconds": _seconds(row["average"]),
            }
            for row in page
        ]
        return self.get_paginated_response(rows)
