"""JSON shapes of the operators' segment and broadcast API. Ids of tags, groups and segments must be the shop's
(the view passes `shop` in the context); every number has a range."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from groups.models import Group, Tag
from shequn.serializers import RefSerializer, person

from .models import MAX_AMOUNT, MAX_COUNT, MAX_DAYS, Broadcast, Segment


class _ShopIds(serializers.PrimaryKeyRelatedField):
    model = None

    def get_queryset(self):
        # Without the view's shop no id is the shop's: refused as unknown, never looked up elsewhere.
        shop = self.context.get("shop")
        return self.model.objects.filter(shop=shop) if shop is not None else self.model.objects.none()


class ShopTagIds(_ShopIds):
    model = Tag
    queryset = Tag.objects.none()


class ShopGroupIds(_ShopIds):
    model = Group
    queryset = Group.objects.none()


class ShopSegmentId(_ShopIds):
    model = Segment
    queryset = Segment.objects.none()


def _amount(**kw):
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        required=False,
        allow_null=True,
        **kw,
    )


def _days():
    return serializers.IntegerField(min_value=1, max_value=MAX_DAYS, required=False, allow_null=True)


def _count():
    return serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, allow_null=True)


class SegmentWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    tags = ShopTagIds(many=True, required=False, default=list, help_text="带其中任一标签（本店标签 id）。")
    exclude_tags = ShopTagIds(many=True, required=False, default=list, help_text="排除带这些标签的成员。")
    groups = ShopGroupIds(many=True, required=False, default=list, help_text="在其中任一群（本店群 id）。")
    min_spent = _amount(help_text="累计消费至少（元）。")
    max_spent = _amount(help_text="累计消费至多（元）。")
    min_orders = _count()
    max_orders = _count()
    ordered_within_days = _days()
    not_ordered_for_days = _days()
    joined_within_days = _days()
    joined_before_days = _days()


class SegmentSerializer(serializers.ModelSerializer):
    tags = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    exclude_tags = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    groups = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "tags",
            "exclude_tags",
            "groups",
            "min_spent",
            "max_spent",
            "min_orders",
            "max_orders",
            "ordered_within_days",
            "not_ordered_for_days",
            "joined_within_days",
            "joined_before_days",
            "member_count",
            "created_at",
            "updated_at",
        ]

    def get_member_count(self, segment) -> int:
        return self.context.get("counts", {}).get(segment.pk, 0)


class SegmentMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    public_name = serializers.CharField(read_only=True)
    spent = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    order_count = serializers.IntegerField(read_only=True)
    last_order_at = serializers.DateTimeField(read_only=True, allow_null=True)
    joined_at = serializers.DateTimeField(read_only=True, allow_null=True)


class BroadcastWriteSerializer(serializers.Serializer):
    group = ShopGroupIds(
        required=False, allow_null=True, default=None, help_text="发给这个群的成员（与 segment 二选一）。"
    )
    segment = ShopSegmentId(
        required=False, allow_null=True, default=None, help_text="发给这个人群（与 group 二选一）。"
    )
    title = serializers.CharField(max_length=60)
    body = serializers.CharField(max_length=500)


class TallySerializer(serializers.Serializer):
    send = serializers.IntegerField(help_text="会收到（预览）或已发送的人数。")
    opted_out = serializers.IntegerField()
    after_sales = serializers.IntegerField()
    quiet_hours = serializers.IntegerField()
    capped = serializers.IntegerField()
    audience = serializers.IntegerField(required=False)


class BroadcastSerializer(serializers.ModelSerializer):
    group = RefSerializer(read_only=True, allow_null=True)
    segment = RefSerializer(read_only=True, allow_null=True)
    sent_by = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "title",
            "body",
            "state",
            "group",
            "segment",
            "created_at",
            "sent_at",
            "sent_by",
            "result",
            "preview",
        ]

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_sent_by(self, broadcast):
        return person(broadcast.sent_by)

    @extend_schema_field(TallySerializer(allow_null=True))
    def get_result(self, broadcast):
        if broadcast.state == "draft":
            return None
        return {
            "send": broadcast.sent_count,
            "opted_out": broadcast.opted_out_count,
            "after_sales": broadcast.after_sales_count,
            "quiet_hours": broadcast.quiet_hours_count,
            "capped": broadcast.capped_count,
        }

    @extend_schema_field(TallySerializer(allow_null=True))
    def get_preview(self, broadcast):
        return self.context.get("previews", {}).get(broadcast.pk)


class TagRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    tag = RefSerializer(read_only=True)
    kind = serializers.CharField(read_only=True)
    product = RefSerializer(read_only=True, allow_null=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True)
    count = serializers.IntegerField(read_only=True, allow_null=True)
    days = serializers.IntegerField(read_only=True, allow_null=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)
    members = serializers.IntegerField(read_only=True, help_text="上次计算时带这个标签的会员数。")
    computed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class InviteSerializer(serializers.Serializer):
    group = ShopGroupIds(help_text="邀请进入的群（本店群 id）。")


class InviteTallySerializer(serializers.Serializer):
    send = serializers.IntegerField(help_text="发出邀请的人数。")
    opted_out = serializers.IntegerField()
    after_sales = serializers.IntegerField()
    quiet_hours = serializers.IntegerField()
    capped = serializers.IntegerField()
    already = serializers.IntegerField(help_text="已邀请过或已在群中的人数。")
