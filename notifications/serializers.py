"""JSON shapes of the member's inbox and message preferences. Rules live in notifications.services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shequn.serializers import RefSerializer

from .models import Category, Notification


class InboxNotificationSerializer(serializers.ModelSerializer):
    """One message in the member's inbox."""

    shop = RefSerializer(read_only=True)
    category = serializers.ChoiceField(
        choices=Category.choices, read_only=True, help_text="transactional, marketing, reminder or campaign."
    )
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "shop", "category", "kind", "title", "body", "url", "sent_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, notification) -> bool:
        return notification.read_at is not None


class InboxFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread messages.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(read_only=True)


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many messages this call marked read.")


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "22:00"})
class ClockTimeField(serializers.TimeField):
    """A time of day answered as HH:MM. The schema gives the pattern: OpenAPI's format "time" means HH:MM:SS."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PreferenceSerializer(serializers.Serializer):
    """The member's choices for one shop. Transactional messages (payment, shipping, refund) always go out.

    Quiet hours: quiet_start and quiet_end both null = the shop's default (shop_quiet_start/end);
    both equal = no quiet hours; otherwise a daily window that may wrap midnight (22:00–08:00).
    """

    shop = RefSerializer(read_only=True)
    marketing = serializers.BooleanField(required=False, help_text="Receive promotions.")
    reminder = serializers.BooleanField(required=False, help_text="Receive repeat-purchase reminders.")
    campaign = serializers.BooleanField(required=False, help_text="Receive campaign news.")
    quiet_start = ClockTimeField(required=False, allow_null=True)
    quiet_end = ClockTimeField(required=False, allow_null=True)
    shop_quiet_start = ClockTimeField(read_only=True)
    shop_quiet_end = ClockTimeField(read_only=True)

    def validate(self, data):
        if ("quiet_start" in data) != ("quiet_end" in data):
            raise serializers.ValidationError({"quiet_end": _("请同时填写免打扰的开始和结束时间，或都留空。")})
        return data


class WechatSubscriptionsSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=128, help_text="wx.login()'s code, exchanged for the member's openid")
    accepted = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=20,
        help_text="Template ids the member accepted in wx.requestSubscribeMessage",
    )


class WechatGrantsSerializer(serializers.Serializer):
    remaining = serializers.DictField(child=serializers.IntegerField(), help_text="Template id → messages left")
