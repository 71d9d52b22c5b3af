"""Forms of the group space (members' pages and the dashboard). Shape only: groups.space decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .space import MAX_COMMENT_PHOTOS, MAX_POST_PHOTOS
from .space_models import COMMENT_MAX_LENGTH, CONTACT_MAX_LENGTH, POST_MAX_LENGTH, PostKind, SpaceSettings


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe); each is checked by groups.space."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class PostForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=PostKind.choices, initial=PostKind.POST)
    body = forms.CharField(
        label=_("内容"),
        max_length=POST_MAX_LENGTH,
        error_messages={"required": _("请填写内容。")},
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("分享心得，或者提个问题")}),
    )
    photos = MultipleFileField(
        label=_("照片"), help_text=_("最多 %(n)d 张 JPG、PNG 或 WebP 图片。") % {"n": MAX_POST_PHOTOS}
    )

    def __init__(self, *args, can_announce: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_announce:
            self.fields["kind"].choices = [c for c in PostKind.choices if c[0] != PostKind.ANNOUNCEMENT]


class AnnouncementForm(forms.Form):
    body = forms.CharField(
        label=_("公告内容"),
        max_length=POST_MAX_LENGTH,
        error_messages={"required": _("请填写内容。")},
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photos = MultipleFileField(
        label=_("照片"), help_text=_("最多 %(n)d 张 JPG、PNG 或 WebP 图片。") % {"n": MAX_POST_PHOTOS}
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("回复"),
        max_length=COMMENT_MAX_LENGTH,
        error_messages={"required": _("请填写内容。")},
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("写下你的回复")}),
    )
    photos = MultipleFileField(
        label=_("照片"), help_text=_("最多 %(n)d 张 JPG、PNG 或 WebP 图片。") % {"n": MAX_COMMENT_PHOTOS}
    )


class ContactForm(forms.Form):
    service_contact = forms.CharField(
        label=_("客服联系方式"), max_length=CONTACT_MAX_LENGTH, required=False, help_text=_("如 客服微信号、电话")
    )
    wechat_qr = forms.FileField(
        label=_("微信群二维码"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_("留空则保留当前二维码。"),
    )
    wechat_qr_expires_at = forms.DateTimeField(
        label=_("二维码到期时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"invalid": _("请填写有效的日期和时间。")},
        help_text=_("微信群二维码 7 天内有效；到期前会提醒运营更换，过期后不再向成员展示。"),
    )
    remove_qr = forms.BooleanField(label=_("移除当前二维码"), required=False)


SETTINGS_LIMITS = {"reply_target_minutes": (1, 24 * 60), "qr_reminder_days": (1, 7)}  # as the model's CHECK


def _number(name: str) -> forms.IntegerField:
    field = SpaceSettings._meta.get_field(name)
    least, most = SETTINGS_LIMITS[name]
    return forms.IntegerField(
        label=field.verbose_name,
        help_text=field.help_text,
        min_value=least,
        max_value=most,
        error_messages={"required": _("请填写此项。"), "invalid": _("请填写整数。")},
    )


class SpaceSettingsForm(forms.Form):
    reply_target_minutes = _number("reply_target_minutes")
    qr_reminder_days = _number("qr_reminder_days")


class ReplyTimesFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("时间范围"),
        choices=[(7, _("近 7 天")), (30, _("近 30 天")), (90, _("近 90 天"))],
        coerce=int,
        required=False,
        empty_value=30,
        initial=30,
    )
