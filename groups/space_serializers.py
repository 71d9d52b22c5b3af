"""JSON shapes of the group space (groups/space_api.py). People appear by public name, never by phone."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shequn.serializers import PersonSerializer, absolute, person

from .space import MAX_COMMENT_PHOTOS, MAX_POST_PHOTOS
from .space_models import COMMENT_MAX_LENGTH, POST_MAX_LENGTH, PostKind
from .space_selectors import HIGHLIGHTED_ROLES


def _photo_urls(context, photos) -> list[str]:
    """Members read photos through their group page; operators through the dashboard (each checks who asks)."""
    request, group_id = context.get("request"), context.get("group_id")
    if context.get("operator"):
        return [absolute(request, reverse("dashboard:space_photo", args=[p.pk])) for p in photos]
    return [absolute(request, reverse("member:space_photo", args=[group_id, p.pk])) for p in photos]


class SpaceCommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = serializers.SerializerMethodField()
    author_role = serializers.CharField(
        read_only=True, allow_null=True, help_text="作者在群里的当前角色；已离群为 null。"
    )
    body = serializers.CharField(read_only=True)
    photos = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(PersonSerializer)
    def get_author(self, comment) -> dict:
        return person(comment.author)

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_photos(self, comment) -> list[str]:
        return _photo_urls(self.context, comment.photos.all())


class SpacePostSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=PostKind.choices, read_only=True)
    author = serializers.SerializerMethodField()
    author_role = serializers.CharField(read_only=True, allow_null=True)
    highlighted = serializers.SerializerMethodField(help_text="核心成员的帖子突出显示。")
    body = serializers.CharField(read_only=True)
    photos = serializers.SerializerMethodField()
    comment_count = serializers.IntegerField(read_only=True, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    first_reply_at = serializers.DateTimeField(read_only=True, allow_null=True)
    first_reply_seconds = serializers.IntegerField(read_only=True, allow_null=True)
    first_responder = serializers.SerializerMethodField()
    answered_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(PersonSerializer)
    def get_author(self, post) -> dict:
        return person(post.author)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_first_responder(self, post) -> dict | None:
        return person(post.first_responder)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_highlighted(self, post) -> bool:
        return getattr(post, "author_role", None) in HIGHLIGHTED_ROLES

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_photos(self, post) -> list[str]:
        return _photo_urls(self.context, post.photos.all())


class ShopSpacePostSerializer(SpacePostSerializer):
    hidden_at = serializers.DateTimeField(read_only=True, allow_null=True)
    hidden_by = serializers.SerializerMethodField()

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_hidden_by(self, post) -> dict | None:
        return person(post.hidden_by)


class SpacePostDetailSerializer(SpacePostSerializer):
    comments = SpaceCommentSerializer(many=True, read_only=True, source="comment_list")


class SpacePostCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PostKind.choices, default=PostKind.POST)
    body = serializers.CharField(max_length=POST_MAX_LENGTH)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=MAX_POST_PHOTOS
    )


class AnnouncementCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=POST_MAX_LENGTH)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=MAX_POST_PHOTOS
    )


class SpaceReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=MAX_COMMENT_PHOTOS
    )


class SpaceFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PostKind.choices, required=False)


class ShopSpaceFilterSerializer(SpaceFilterSerializer):
    hidden = serializers.BooleanField(required=False, allow_null=True, default=None)


class GroupContactSerializer(serializers.Serializer):
    service_contact = serializers.CharField(read_only=True)
    wechat_qr_url = serializers.URLField(
        read_only=True, allow_null=True, help_text="仍有效的微信群二维码；过期或未上传为 null。"
    )
    wechat_qr_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ReplyTimesFilterSerializer(serializers.Serializer):
    days = serializers.ChoiceField(choices=[7, 30, 90], default=30)


class GroupReplyTimesSerializer(serializers.Serializer):
    group = serializers.DictField(read_only=True, help_text="{id, name}")
    asked = serializers.IntegerField()
    replied = serializers.IntegerField()
    within_target = serializers.IntegerField()
    average_seconds = serializers.IntegerField(allow_null=True)
    slowest_seconds = serializers.IntegerField(allow_null=True)


class ResponderReplyTimesSerializer(serializers.Serializer):
    responder = PersonSerializer()
    first_replies = serializers.IntegerField()
    within_target = serializers.IntegerField()
    average_seconds = serializers.IntegerField()


class ReplyTimesSerializer(serializers.Serializer):
    target_minutes = serializers.IntegerField()
    days = serializers.IntegerField()
    groups = GroupReplyTimesSerializer(many=True)
    responders = ResponderReplyTimesSerializer(many=True)
