"""Serializers of the engine's campaigns API: a campaign, with each type's own fields (its kind's `api_fields`).
Each type's own serializers live in its package. Money is a string with two decimals, as elsewhere."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import registry
from .models import Campaign


class KindField(serializers.Field):
    """One of a campaign type's own fields of the campaign API (its kind's `api_fields`): the kind's data
    on that type's campaigns, null on every other's. Documented in the schema as the kind's serializer."""

    def __init__(self, kind, name: str, serializer):
        self.kind, self.name, self.serializer = kind, name, serializer
        super().__init__(source="*", read_only=True)
        extend_schema_field(serializer)(self)

    def to_representation(self, campaign):
        if campaign.type != self.kind.code:
            return None
        return self.serializer.to_representation(self.kind.api_extras(campaign)[self.name])


class CampaignSerializer(serializers.ModelSerializer):
    type = serializers.CharField(help_text="group_buy 拼团 / help 助力 / bargain 砍价 / …")
    state = serializers.CharField(help_text="draft / scheduled / running / ended / cancelled")
    landing_url = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "type",
            "name",
            "state",
            "starts_at",
            "ends_at",
            "hook_title",
            "hook_text",
            "proof_text",
            "cta_text",
            "landing_url",
        ]

    def get_landing_url(self, campaign) -> str:
        return self.context["request"].build_absolute_uri(campaign.get_absolute_url())

    def get_fields(self):
        """The engine's fields, then every registered type's own (read from the registry at each use, so a
        type's fields need no edit here)."""
        fields = super().get_fields()
        for kind in registry.all():
            for name, serializer in kind.api_fields().items():
                fields[name] = KindField(kind, name, serializer)
        return fields


class MineSerializer(serializers.Serializer):
    summary = serializers.CharField(help_text="The member's own part in words: 我的团 · 还差 1 人成团…")
    url = serializers.CharField(help_text="Its page (a team, a bargain, a help task, the coupon centre)")
    ends_at = serializers.DateTimeField(allow_null=True, help_text="When it runs out (null: it does not)")


class GroupCampaignSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    type = serializers.CharField(help_text="group_buy 拼团 / help 助力 / bargain 砍价 / coupon 优惠券 / …")
    kind = serializers.CharField(help_text="The type in words")
    title = serializers.CharField()
    offer = serializers.CharField(help_text="The offer in words (拼团价 ¥29.90 · 3 人团)")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    product_id = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The campaign's landing page")
    ends_at = serializers.DateTimeField(allow_null=True, help_text="null: open-ended (a check-in campaign)")
    mine = MineSerializer(allow_null=True, help_text="The member's own part in it, or null")


class ParticipationSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="group_buy (a team seat) / bargain / help / coupon")
    id = serializers.IntegerField(help_text="The team, bargain, help task or coupon")
    campaign_id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    summary = serializers.CharField()
    live = serializers.BooleanField(help_text="Still going (an open team, a live bargain, a usable coupon…)")
    ends_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()
