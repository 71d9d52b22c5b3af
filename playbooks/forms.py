"""Forms of the playbook pages: they parse and offer the shop's own choices; playbooks.services decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from groups.models import Tag

from .models import MAX_CAMPAIGN_DAYS, MAX_DAY, Playbook, PlaybookStep, StepAction

NOTE_MAX_LENGTH = 200


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = ["name", "description", "match_tag", "match_kind", "is_default", "is_active"]

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["match_tag"].queryset = Tag.objects.filter(shop=shop).order_by("name")
        self.fields["match_tag"].required = False
        self.fields["match_kind"].help_text = _("新群的「类型」与此相同时使用这个剧本；标签匹配优先。")

    def validate_unique(self):
        """The service checks the name within the shop (with a Chinese message)."""


class StepForm(forms.ModelForm):
    day = forms.IntegerField(label=_("第几天"), min_value=0, max_value=MAX_DAY, help_text=_("开营当天为第 0 天"))
    at_time = forms.TimeField(label=_("时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    campaign_days = forms.IntegerField(label=_("活动持续天数"), min_value=1, max_value=MAX_CAMPAIGN_DAYS, initial=2)

    class Meta:
        model = PlaybookStep
        fields = ["day", "at_time", "action", "title", "body", "campaign_template", "campaign_days"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign_template"].queryset = Campaign.objects.filter(shop=shop).order_by("-created_at")
        self.fields["campaign_template"].required = False
        self.fields["campaign_template"].help_text = _("「开启活动」时复制这个活动，只在这个群进行。")
        self.fields["body"].help_text = _("可以写 {群名} 和 {群规}，发出时换成这个群的。")
        self.fields["action"].choices = StepAction.choices


class AssignForm(forms.Form):
    playbook = forms.ModelChoiceField(label=_("培育剧本"), queryset=Playbook.objects.none())

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = Playbook.objects.filter(shop=shop, is_active=True).order_by("name")


class NoteForm(forms.Form):
    note = forms.CharField(label=_("备注"), max_length=NOTE_MAX_LENGTH, required=False)


class RescheduleForm(forms.Form):
    due_at = forms.DateTimeField(
        label=_("新的计划时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
