"""Serializers of 拼团's member API: its rules (the campaign API's `group_buy` field), teams, seats and
the open/join input. Money is a string with two decimals, as elsewhere."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import services
from campaigns.models import Team, TeamSeat
from orders.models import Delivery
from orders.serializers import RecipientPhoneField

MAX_ID = 2**31 - 1


class GroupBuyRulesSerializer(serializers.Serializer):
    team_size = serializers.IntegerField()
    group_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    leader_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    time_limit_minutes = serializers.IntegerField()
    new_members_only = serializers.BooleanField()
    simulate_fill = serializers.BooleanField(help_text="模拟成团：到期未满员时自动成团。")
    tiers = serializers.ListField(
        child=serializers.DictField(), help_text="阶梯价：[{size, price}]，按第一档价格付款。"
    )


class TeamMemberSerializer(serializers.Serializer):
    name = serializers.CharField(source="member.public_name")
    role = serializers.CharField()
    state = serializers.CharField()


class TeamSerializer(serializers.ModelSerializer):
    state = serializers.CharField(help_text="pending 待团长付款 / open 拼团中 / succeeded / failed / void 未开团")
    leader = serializers.CharField(source="leader.public_name")
    seats_left = serializers.IntegerField()
    members = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = [
            "id",
            "campaign",
            "state",
            "size",
            "min_size",
            "seats_taken",
            "seats_left",
            "opened_at",
            "expires_at",
            "closed_at",
            "simulated",
            "final_price",
            "leader",
            "members",
            "url",
        ]

    @extend_schema_field(TeamMemberSerializer(many=True))
    def get_members(self, team):
        seats = getattr(team, "shown_seats", None)
        if seats is None:
            seats = team.seats.filter(paid_at__isnull=False).select_related("member")
        return TeamMemberSerializer([s for s in seats if s.state != "bounced"], many=True).data

    def get_url(self, team) -> str:
        return self.context["request"].build_absolute_uri(team.get_absolute_url())


class SeatSerializer(serializers.ModelSerializer):
    role = serializers.CharField(help_text="leader 团长 / joiner 团员")
    state = serializers.CharField(help_text="pending / seated / won / lost / bounced / cancelled / refunded")
    team = TeamSerializer()
    order = serializers.IntegerField(source="order_id")
    order_state = serializers.CharField(source="order.state")
    order_total = serializers.DecimalField(source="order.total", max_digits=12, decimal_places=2)
    share_url = serializers.SerializerMethodField(help_text="我的分享链接（团进行中时），好友通过它参团记在我名下。")

    class Meta:
        model = TeamSeat
        fields = [
            "id",
            "role",
            "state",
            "unit_price",
            "quantity",
            "order",
            "order_state",
            "order_total",
            "paid_at",
            "team",
            "share_url",
        ]

    def get_share_url(self, seat) -> str:
        if seat.state not in ("pending", "seated") or seat.team.state not in ("pending", "open"):
            return ""
        return services.share_link(seat.campaign, seat.member, seat.team)


class TeamOrderSerializer(serializers.Serializer):
    """Open or join a team: the order's group and delivery (as for any order), and the share token (`by`)
    of the link that brought the member, if any."""

    group = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="下单群 id（你所在的活动群）。")
    delivery = serializers.ChoiceField(choices=Delivery.choices)
    recipient_name = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    recipient_phone = RecipientPhoneField()
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    pickup_point = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    by = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="分享链接里的 by 参数：谁分享的链接。"
    )
    choices = serializers.DictField(
        child=serializers.CharField(max_length=60, allow_blank=True),
        required=False,
        default=dict,
        help_text='结账时的优惠选择，如 {"coupon": "12"}（仅限允许与活动价同享的券）或 {"points": "300"}。',
    )
