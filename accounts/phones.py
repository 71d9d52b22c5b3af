"""Mainland China mobile numbers: one normal form (+86 and 11 digits) everywhere."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
INVALID_PHONE_MESSAGE = _("请输入有效的中国大陆手机号（11 位，以 1 开头）。")


def normalize_mainland_phone(raw: str) -> str:
    """Return '+86' + 11 digits, or raise ValidationError. Accepts spaces, dashes, +86/86/0086."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _MAINLAND_MOBILE.match(digits):
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    return "+86" + digits


def mask_phone(phone: str) -> str:
    """138****8000: enough for a person to recognise their own number, not to read others'."""
    local = phone.removeprefix("+86")
    if len(local) != 11:
        return phone
    return f"{local[:3]}****{local[-4:]}"


class MainlandPhoneField(forms.CharField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"placeholder": _("手机号"), "autocomplete": "tel", "type": "tel", "inputmode": "numeric"}
            ),
        )
        kwargs.setdefault("label", _("手机号"))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalize_mainland_phone(value) if value else value
