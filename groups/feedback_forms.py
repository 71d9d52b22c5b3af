"""Forms of the complaints and suggestions box. Shape only: groups.feedback decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .feedback_models import ANSWER_MAX_LENGTH, DEPARTMENT_NAME_MAX_LENGTH, FEEDBACK_MAX_LENGTH, FeedbackKind


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=FeedbackKind.choices,
        initial=FeedbackKind.SUGGESTION,
        error_messages={"required": _("请选择投诉或建议。"), "invalid_choice": _("请选择投诉或建议。")},
    )
    body = forms.CharField(
        label=_("内容"),
        max_length=FEEDBACK_MAX_LENGTH,
        error_messages={"required": _("请填写内容。")},
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _("说说遇到的问题或你的想法")}),
    )
    photo = forms.FileField(
        label=_("照片（选填）"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_("一张 JPG、PNG 或 WebP 图片。"),
    )


class RouteForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("处理部门"),
        queryset=None,
        error_messages={"required": _("请选择处理部门。"), "invalid_choice": _("请选择本店启用中的部门。")},
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("答复"),
        max_length=ANSWER_MAX_LENGTH,
        error_messages={"required": _("请填写内容。")},
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DepartmentForm(forms.Form):
    name = forms.CharField(
        label=_("部门名称"), max_length=DEPARTMENT_NAME_MAX_LENGTH, error_messages={"required": _("请填写内容。")}
    )
