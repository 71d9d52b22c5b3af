"""JSON shapes of the groups API. Serializers parse and render only; every rule lives in groups.services.

People appear by `public_name` (nickname or masked phone), never by their phone number.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shequn.bounds import MAX_GROUP_SIZE, MAX_ID, MAX_LINK_USES
from shequn.serializers import PersonSerializer, RefSerializer, absolute, person

from .lifecycle import ALLOWED_TRANSITIONS, allowed_next_states
from .models import (
    Channel,
    Group,
    GroupSeries,
    GroupState,
    InviteLink,
    MemberRole,
    Membership,
    MembershipStatus,
    Purpose,
    Tag,
    Threshold,
)
from .services import JoinRefused, link_problem

# --- Shared pieces --------------------------------------------------------------------------------


def cover_url(request, target) -> str | None:
    cover = getattr(target, "cover", None)
    return absolute(request, cover.url) if cover else None


def member_h5_urls(link: InviteLink) -> dict[str, str]:
    """The member H5 routes that render a link's QR code and share poster (groups/member_urls.py)."""
    base = f"{settings.SITE_URL}/m/links/{link.code}"
    return {"qr_png_url": f"{base}/qr.png", "poster_url": f"{base}/poster.png"}


# --- Member side ----------------------------------------------------------------------------------

# A link that exists can only have these problems ("invalid" means there is no link: a 404).
PROBLEM = serializers.ChoiceField(
    choices=[code for code in JoinRefused.MESSAGES if code not in ("invalid", "banned", "answer_required")],
    allow_null=True,
)
TARGET_KIND = serializers.ChoiceField(choices=["group", "series"])


class LinkLandingSerializer(serializers.Serializer):
    """What a joiner sees before joining: the group (or series) behind an invite link."""

    code = serializers.CharField(read_only=True)
    target_kind = serializers.SerializerMethodField(help_text="链接指向一个群（group）还是一个群系列（series）。")
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    name = serializers.CharField(source="target.name", read_only=True)
    description = serializers.CharField(source="target.description", read_only=True)
    rules = serializers.CharField(source="target.rules", read_only=True)
    cover_url = serializers.SerializerMethodField()
    member_count = serializers.SerializerMethodField(help_text="群当前人数；系列链接为 null。")
    capacity = serializers.SerializerMethodField(help_text="群容量；系列链接为 null。")
    threshold = serializers.ChoiceField(source="target.threshold", choices=Threshold.choices, read_only=True)
    entry_price = serializers.DecimalField(
        source="target.entry_price", max_digits=10, decimal_places=2, read_only=True, allow_null=True
    )
    entry_question = serializers.CharField(source="target.entry_question", read_only=True)
    inviter_name = serializers.CharField(source="inviter.public_name", read_only=True)
    problem = serializers.SerializerMethodField(help_text="为何现在无法通过此链接加入（原因代码），可加入时为 null。")
    problem_message = serializers.SerializerMethodField()

    @extend_schema_field(TARGET_KIND)
    def get_target_kind(self, link):
        return "group" if link.group_id else "series"

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cover_url(self, link) -> str | None:
        return cover_url(self.context.get("request"), link.target)

    def get_member_count(self, link) -> int | None:
        return link.group.active_member_count if link.group_id else None

    def get_capacity(self, link) -> int | None:
        return link.group.capacity if link.group_id else None

    @extend_schema_field(PROBLEM)
    def get_problem(self, link):
        return link_problem(link)

    def get_problem_message(self, link) -> str | None:
        problem = link_problem(link)
        return str(JoinRefused.MESSAGES[problem]) if problem else None


class JoinSerializer(serializers.Serializer):
    answer = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        trim_whitespace=True,
        help_text="入群申请内容；提交审核的群必填（见 entry_question）。",
    )


class MemberGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    shop_name = serializers.CharField(source="shop.name", read_only=True)


class MyMembershipSerializer(serializers.ModelSerializer):
    """The signed-in member's own membership."""

    group = MemberGroupSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "group", "status", "role", "requested_at", "joined_at"]
        read_only_fields = fields


class MyInviteLinkSerializer(serializers.Serializer):
    """The member's own link to invite friends into a group."""

    code = serializers.CharField(read_only=True)
    url = serializers.URLField(source="public_url", read_only=True)
    qr_png_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    join_count = serializers.IntegerField(read_only=True)
    open_count = serializers.IntegerField(read_only=True)

    @extend_schema_field(OpenApiTypes.URI)
    def get_qr_png_url(self, link) -> str:
        return member_h5_urls(link)["qr_png_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_poster_url(self, link) -> str:
        return member_h5_urls(link)["poster_url"]


# --- Operator side: groups ------------------------------------------------------------------------

# The states a group can be moved to (from some state): every state but the first.
TARGET_STATES = [(s.value, s.label) for s in GroupState if any(s in moves for moves in ALLOWED_TRANSITIONS.values())]


class TransitionOptionSerializer(serializers.Serializer):
    """One lifecycle move the group can make now: POST its to_state to /transition/."""

    to_state = serializers.ChoiceField(choices=TARGET_STATES, read_only=True)
    label = serializers.CharField(read_only=True)


class SeriesRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class GroupListSerializer(serializers.ModelSerializer):
    """A row of the shop's group list (annotated by groups.selectors.groups_for_shop)."""

    series = SeriesRefSerializer(read_only=True, allow_null=True)
    owner = serializers.SerializerMethodField()
    tags = RefSerializer(many=True, read_only=True)
    member_count = serializers.IntegerField(source="active_member_count", read_only=True)
    seats_left = serializers.IntegerField(read_only=True)
    joins_7d = serializers.IntegerField(read_only=True, help_text="近 7 天入群人数。")
    leaves_7d = serializers.IntegerField(read_only=True, help_text="近 7 天离开人数。")
    pending_count = serializers.IntegerField(read_only=True, help_text="待审核的入群申请数。")

    class Meta:
        model = Group
        fields = [
            "id",
            "name",
            "state",
            "purpose",
            "kind",
            "threshold",
            "capacity",
            "member_count",
            "seats_left",
            "series",
            "number_in_series",
            "owner",
            "tags",
            "joins_7d",
            "leaves_7d",
            "pending_count",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_owner(self, group):
        return person(group.owner)


class GroupDetailSerializer(serializers.ModelSerializer):
    series = SeriesRefSerializer(read_only=True, allow_null=True)
    owner = serializers.SerializerMethodField()
    tags = RefSerializer(many=True, read_only=True)
    member_count = serializers.IntegerField(source="active_member_count", read_only=True)
    seats_left = serializers.IntegerField(read_only=True)
    cover_url = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField(help_text="当前状态下可以转到的状态。")

    class Meta:
        model = Group
        fields = [
            "id",
            "name",
            "state",
            "allowed_transitions",
            "purpose",
            "kind",
            "description",
            "rules",
            "capacity",
            "member_count",
            "seats_left",
            "threshold",
            "entry_price",
            "entry_question",
            "welcome_message",
            "cover_url",
            "series",
            "number_in_series",
            "owner",
            "tags",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_owner(self, group):
        return person(group.owner)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cover_url(self, group) -> str | None:
        return cover_url(self.context.get("request"), group)

    @extend_schema_field(TransitionOptionSerializer(many=True))
    def get_allowed_transitions(self, group):
        return [{"to_state": s, "label": str(GroupState(s).label)} for s in allowed_next_states(group.state)]


class TagIdsField(serializers.PrimaryKeyRelatedField):
    """A tag id that must belong to the operator's shop (the view passes `shop` in the context)."""

    queryset = Tag.objects.none()  # only for the schema's type; the real choices come from get_queryset

    def get_queryset(self):
        from .selectors import tags_for_shop

        return tags_for_shop(self.context["shop"])


class GroupSettingsSerializer(serializers.Serializer):
    """Inputs shared by groups and series; the service (validate_group_settings) judges their sense."""

    purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
    kind = serializers.CharField(max_length=30, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    rules = serializers.CharField(required=False, allow_blank=True)
    capacity = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GROUP_SIZE,
        help_text="群容量；不填时用本店默认容量，且不能超过本店的群人数上限。",
    )
    threshold = serializers.ChoiceField(choices=Threshold.choices, required=False)
    entry_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True, help_text="入群费（元），付费入群时必填。"
    )
    entry_question = serializers.CharField(max_length=200, required=False, allow_blank=True)
    welcome_message = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        help_text="入群欢迎语：成员入群或申请通过时收到；留空不发送。",
    )
    tags = TagIdsField(many=True, required=False, help_text="本店标签的 id。")


class GroupWriteSerializer(GroupSettingsSerializer):
    name = serializers.CharField(max_length=60)


class GroupTransitionSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=TARGET_STATES)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class GroupFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=GroupState.choices, required=False, help_text="只看此状态的群。")
    tag = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="只看带此标签（id）的群。")
    series = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="只看此系列（id）的群。")
    q = serializers.CharField(required=False, max_length=60, help_text="按群名称搜索。")


# --- Operator side: members -----------------------------------------------------------------------


class ShopMemberSerializer(serializers.ModelSerializer):
    """A member of one of the shop's groups, as an operator sees them (no phone number)."""

    user = serializers.SerializerMethodField()
    inviter = serializers.SerializerMethodField()
    tags = RefSerializer(many=True, read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "role",
            "status",
            "channel",
            "inviter",
            "tags",
            "answer",
            "note",
            "requested_at",
            "joined_at",
            "left_at",
            "last_active_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer)
    def get_user(self, membership):
        return person(membership.user)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_inviter(self, membership):
        return person(membership.inviter)


class MemberFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MembershipStatus.choices, required=False, help_text="只看此状态的成员。")


MEMBER_ACTIONS = ("approve", "reject", "remove", "ban", "unban", "set-role")


class MemberActionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="原因（reject、remove、ban 时记录）。"
    )
    role = serializers.ChoiceField(choices=MemberRole.choices, required=False, help_text="新角色（set-role 时必填）。")

    def validate(self, attrs):
        if self.context.get("action") == "set-role" and not attrs.get("role"):
            raise serializers.ValidationError({"role": _("请选择角色。")}, code="required")
        return attrs


# --- Operator side: links -------------------------------------------------------------------------


class ShopLinkSerializer(serializers.ModelSerializer):
    """An invite link of the shop with its funnel counters (opens → sign-ins → joins)."""

    url = serializers.URLField(source="public_url", read_only=True)
    target_kind = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    inviter = serializers.SerializerMethodField()
    problem = serializers.SerializerMethodField(help_text="为何此链接现在无法使用（原因代码），可用时为 null。")

    class Meta:
        model = InviteLink
        fields = [
            "id",
            "code",
            "url",
            "target_kind",
            "target_id",
            "channel",
            "label",
            "inviter",
            "is_personal",
            "expires_at",
            "max_uses",
            "use_count",
            "open_count",
            "sign_in_count",
            "join_count",
            "revoked_at",
            "problem",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TARGET_KIND)
    def get_target_kind(self, link):
        return "group" if link.group_id else "series"

    def get_target_id(self, link) -> int:
        return link.group_id or link.series_id

    @extend_schema_field(PersonSerializer)
    def get_inviter(self, link):
        return person(link.inviter)

    @extend_schema_field(PROBLEM)
    def get_problem(self, link):
        return link_problem(link)


class LinkCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.OPERATOR)
    label = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    max_uses = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_LINK_USES
    )


# --- Operator side: series ------------------------------------------------------------------------


class SeriesGroupSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(source="active_member_count", read_only=True)

    class Meta:
        model = Group
        fields = ["id", "name", "number_in_series", "state", "capacity", "member_count"]
        read_only_fields = fields


class SeriesSerializer(serializers.ModelSerializer):
    """A series (群活码) with its groups in order."""

    tags = RefSerializer(many=True, read_only=True)
    groups = SeriesGroupSerializer(many=True, read_only=True)

    class Meta:
        model = GroupSeries
        fields = [
            "id",
            "name",
            "purpose",
            "kind",
            "description",
            "rules",
            "capacity",
            "rotation_threshold",
            "threshold",
            "entry_price",
            "entry_question",
            "welcome_message",
            "tags",
            "groups",
            "created_at",
        ]
        read_only_fields = fields


class SeriesDetailSerializer(SeriesSerializer):
    links = ShopLinkSerializer(
        many=True,
        read_only=True,
        source="api_links",
        help_text="指向此系列的邀请链接，含系列公开码（channel=series_code）。",
    )

    class Meta(SeriesSerializer.Meta):
        fields = [*SeriesSerializer.Meta.fields, "links"]
        read_only_fields = fields


class SeriesCreateSerializer(GroupSettingsSerializer):
    name = serializers.CharField(max_length=60)
    rotation_threshold = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_GROUP_SIZE,
        help_text="新成员进入第一个人数低于此值的群；不填时用本店默认值。",
    )
    first_group_state = serializers.ChoiceField(
        choices=[(s, GroupState(s).label) for s in (GroupState.PREPARING, GroupState.RECRUITING, GroupState.ACTIVE)],
        default=GroupState.RECRUITING,
        help_text="第一个群开出时的状态。",
    )
