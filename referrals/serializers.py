"""JSON shapes of the referrals API. Serializers parse and render only; every rule lives in referrals.services.

People appear by `public_name`, never by their phone number.
"""

from decimal import Decimal

from rest_framework import serializers

from shequn.bounds import MAX_ID
from shequn.serializers import PersonSerializer, RefSerializer

from .models import (
    CommissionAccount,
    ReferralEdge,
    Reward,
    RewardKind,
    RewardStatus,
    StewardReward,
    StewardRewardKind,
    StewardRewardStatus,
    StewardRole,
    StewardRule,
    WithdrawalRequest,
    WithdrawalStatus,
)

WITHDRAWAL_ACTIONS = ("approve", "reject", "mark-paid")


class MyInviteeSerializer(serializers.ModelSerializer):
    invitee = PersonSerializer(read_only=True)
    shop = RefSerializer(read_only=True)
    group = RefSerializer(read_only=True, allow_null=True)
    moved_away = serializers.SerializerMethodField(help_text="改绑给了他人（仍保留已获得的奖励）。")
    brought = serializers.IntegerField(read_only=True, help_text="这位好友又邀请了多少人。")

    class Meta:
        model = ReferralEdge
        fields = ["id", "invitee", "shop", "group", "channel", "created_at", "qualified_at", "moved_away", "brought"]

    def get_moved_away(self, edge) -> bool:
        return edge.superseded_at is not None


class MyRewardSerializer(serializers.ModelSerializer):
    shop = RefSerializer(read_only=True)
    invitee = PersonSerializer(read_only=True)
    kind = serializers.ChoiceField(choices=RewardKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=RewardStatus.choices, read_only=True)

    class Meta:
        model = Reward
        fields = [
            "id",
            "shop",
            "invitee",
            "kind",
            "amount",
            "label",
            "status",
            "created_at",
            "due_at",
            "granted_at",
            "reason",
        ]


class CommissionAccountSerializer(serializers.ModelSerializer):
    shop = RefSerializer(read_only=True)

    class Meta:
        model = CommissionAccount
        fields = ["shop", "balance"]


class WithdrawalSerializer(serializers.ModelSerializer):
    shop = RefSerializer(read_only=True)
    status = serializers.ChoiceField(choices=WithdrawalStatus.choices, read_only=True)

    class Meta:
        model = WithdrawalRequest
        fields = [
            "id",
            "shop",
            "amount",
            "status",
            "account_note",
            "requested_at",
            "decided_at",
            "decision_note",
            "paid_at",
            "payout_reference",
        ]


class WithdrawalCreateSerializer(serializers.Serializer):
    shop = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="要提现的店铺 id（见 /me/commission/）。")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    account_note = serializers.CharField(max_length=120, help_text="收款方式，如 微信号、支付宝账号。")


class ShopRewardSerializer(MyRewardSerializer):
    inviter = PersonSerializer(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True, allow_null=True, default=None)

    class Meta(MyRewardSerializer.Meta):
        fields = [
            "id",
            "inviter",
            "invitee",
            "kind",
            "amount",
            "label",
            "status",
            "order_number",
            "created_at",
            "due_at",
            "granted_at",
            "closed_at",
            "reason",
        ]


class ShopWithdrawalSerializer(WithdrawalSerializer):
    member = PersonSerializer(read_only=True)
    balance = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text="会员当前的可提现余额（不含本笔）。"
    )

    class Meta(WithdrawalSerializer.Meta):
        fields = [
            "id",
            "member",
            "amount",
            "balance",
            "status",
            "account_note",
            "requested_at",
            "decided_at",
            "decision_note",
            "paid_at",
            "payout_reference",
        ]


class WithdrawalDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="审核说明；拒绝时必填。"
    )
    payout_reference = serializers.CharField(
        max_length=80, required=False, allow_blank=True, default="", help_text="打款凭证号；mark-paid 时必填。"
    )


class RewardFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RewardStatus.choices, required=False)


class WithdrawalFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WithdrawalStatus.choices, required=False)


class ViralFilterSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=["group", "series", "campaign"], required=False, default="group")


class ViralRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="key", help_text="群、系列或活动的 id。")
    name = serializers.CharField(source="label")
    invites = serializers.IntegerField(help_text="邀请触达：邀请链接被打开的次数。")
    joins = serializers.IntegerField(help_text="通过邀请入群的人数。")
    second_gen = serializers.IntegerField(help_text="这些人又邀请入群的人数。")
    coefficient = serializers.DecimalField(
        max_digits=8, decimal_places=2, allow_null=True, help_text="裂变系数 K = second_gen / joins。"
    )


# --- Stewards' rewards ---------------------------------------------------------------------------


class StewardRuleSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=StewardRole.choices, read_only=True)
    kind = serializers.ChoiceField(choices=StewardRewardKind.choices, read_only=True)
    rate = serializers.DecimalField(
        max_digits=7, decimal_places=2, read_only=True, help_text="佣金：实付金额的百分比；积分：每元积分。"
    )
    updated_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StewardRule
        fields = ["id", "role", "kind", "rate", "updated_by", "updated_at"]


class StewardRuleWriteSerializer(serializers.Serializer):
    """One role's rule: enabled=false switches the role's reward off. The ranges are checked by the service."""

    role = serializers.ChoiceField(choices=StewardRole.choices)
    enabled = serializers.BooleanField()
    kind = serializers.ChoiceField(
        choices=StewardRewardKind.choices, required=False, default=StewardRewardKind.COMMISSION
    )
    rate = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True, default=None)


class ShopStewardRewardSerializer(serializers.ModelSerializer):
    steward = PersonSerializer(read_only=True)
    group = RefSerializer(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    role = serializers.ChoiceField(choices=StewardRole.choices, read_only=True)
    kind = serializers.ChoiceField(choices=StewardRewardKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=StewardRewardStatus.choices, read_only=True)

    class Meta:
        model = StewardReward
        fields = [
            "id",
            "steward",
            "group",
            "order_number",
            "role",
            "kind",
            "amount",
            "status",
            "created_at",
            "due_at",
            "granted_at",
            "closed_at",
            "reason",
        ]


class StewardRewardFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=StewardRewardStatus.choices, required=False)
