"""JSON shapes of the complaints and suggestions box (groups/feedback_api.py)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shequn.serializers import PersonSerializer, absolute, person

from .feedback_models import (
    ANSWER_MAX_LENGTH,
    DEPARTMENT_NAME_MAX_LENGTH,
    FEEDBACK_MAX_LENGTH,
    FeedbackKind,
    FeedbackState,
)


class FeedbackSubmitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FeedbackKind.choices)
    body = serializers.CharField(max_length=FEEDBACK_MAX_LENGTH)
    photo = serializers.FileField(required=False, allow_null=True, help_text="一张图片（multipart），选填。")


class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=DEPARTMENT_NAME_MAX_LENGTH)
    active = serializers.BooleanField(read_only=True)


class _GroupRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FeedbackSerializer(serializers.Serializer):
    """What the member reads: their item, its state and the answer once answered."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=FeedbackKind.choices, read_only=True)
    body = serializers.CharField(read_only=True)
    group = serializers.SerializerMethodField()
    photo_url = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=FeedbackState.choices, read_only=True)
    department = serializers.CharField(source="department.name", read_only=True, allow_null=True, default=None)
    answer = serializers.CharField(read_only=True)
    answered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(_GroupRef)
    def get_group(self, item) -> dict:
        return {"id": item.group_id, "name": item.group.name}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_photo_url(self, item) -> str | None:
        if not item.photo:
            return None
        name = "dashboard:feedback_photo" if self.context.get("operator") else "member:feedback_photo"
        return absolute(self.context.get("request"), reverse(name, args=[item.pk]))


class ShopFeedbackSerializer(FeedbackSerializer):
    member = serializers.SerializerMethodField()
    department_id = serializers.IntegerField(read_only=True, allow_null=True)
    routed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    answered_by = serializers.SerializerMethodField()
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(PersonSerializer)
    def get_member(self, item) -> dict:
        return person(item.member)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_answered_by(self, item) -> dict | None:
        return person(item.answered_by)


class ShopFeedbackFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=FeedbackState.choices, required=False)
    kind = serializers.ChoiceField(choices=FeedbackKind.choices, required=False)
    department = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class RouteSerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="本店启用中的部门 id。")


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=ANSWER_MAX_LENGTH)
