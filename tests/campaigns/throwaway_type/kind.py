"""The throwaway type's kind: its settings, figures, and what it adds to the landing page, the campaign
API and the dashboard's campaign page. Its URL modules are found next to it (urls.py, api_urls.py)."""

from django import forms
from rest_framework import serializers

from campaigns.models import CampaignAct
from campaigns.types.base import CampaignKind, ValidationError

CODE = "stamp"


class StampSettingsForm(forms.Form):
    stamps_needed = forms.IntegerField(label="需要打卡次数", required=False)


class StampRulesSerializer(serializers.Serializer):
    stamps_needed = serializers.IntegerField()


class StampKind(CampaignKind):
    code = CODE
    label = "打卡"
    settings_form = StampSettingsForm
    figure_labels = {"check_ins": "打卡次数"}

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        needed = settings.get("stamps_needed")
        if not isinstance(needed, int) or not 1 <= needed <= 30:
            raise ValidationError({"stamps_needed": "打卡次数须在 1–30 之间。"})
        return {"stamps_needed": needed}

    def figures(self, campaign) -> dict:
        return {"check_ins": CampaignAct.objects.filter(campaign=campaign).count()}

    def landing_context(self, campaign, user) -> dict:
        return {"stamps_needed": campaign.settings["stamps_needed"]}

    def api_fields(self) -> dict:
        return {"stamp": StampRulesSerializer(allow_null=True)}

    def api_extras(self, campaign) -> dict:
        return {"stamp": {"stamps_needed": campaign.settings["stamps_needed"]}}

    def dashboard_context(self, campaign, request) -> dict:
        return {"stamp_cards": []}

    def poster_offer(self, campaign, target) -> str:
        return f"打卡 {campaign.settings['stamps_needed']} 次得好礼"
