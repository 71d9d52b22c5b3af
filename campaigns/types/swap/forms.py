"""换物 settings in the dashboard's campaign editor, and the members' listing, offer and report forms (the
rules in kind.py decide; these only carry the input)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import NOTE_MAX_LENGTH, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH, WANTED_MAX_LENGTH, Handover


class SwapSettingsForm(forms.Form):
    """换物 settings as the dashboard shows them; clean_swap_settings (SwapKind.validate_settings) decides."""

    listing_days = forms.CharField(
        label=_("物品有效天数"), required=False, initial=30, help_text=_("发布后多少天未换出自动下架，1–180。")
    )
    offer_hours = forms.CharField(
        label=_("出价回应时限（小时）"),
        required=False,
        initial=72,
        help_text=_("物主多少小时内未回应，出价自动过期，1–720。"),
    )


class ListingForm(forms.Form):
    group = forms.TypedChoiceField(label=_("发布到哪个群"), coerce=int, choices=())
    title = forms.CharField(label=_("物品名称"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("描述"), required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    wanted = forms.CharField(label=_("想换什么"), required=False, max_length=WANTED_MAX_LENGTH)
    price = forms.CharField(label=_("或转让价（元）"), required=False, max_length=20)
    handover = forms.ChoiceField(label=_("交付方式"), choices=Handover.choices, initial=Handover.PICKUP)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [(g.pk, g.name) for g in groups]


class OfferForm(forms.Form):
    offered_listing = forms.TypedChoiceField(label=_("用我的物品交换"), coerce=int, required=False, choices=())
    price = forms.CharField(label=_("或出价（元）"), required=False, max_length=20)
    message = forms.CharField(label=_("留言"), required=False, max_length=NOTE_MAX_LENGTH)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offered_listing"].choices = [("", _("（不用物品交换）")), *((i.pk, i.title) for i in items)]


class ReportForm(forms.Form):
    reason = forms.CharField(label=_("举报原因"), max_length=NOTE_MAX_LENGTH)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=NOTE_MAX_LENGTH)
