from allauth.account.adapter import get_adapter
from allauth.account.forms import RequestLoginCodeForm
from allauth.core import context
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import User
from .sms import VERIFICATION_CODE, SmsRateLimited, check_limits


class PhoneCodeLoginForm(RequestLoginCodeForm):
    """One step for members: a known number gets a login code, a new number an account first.

    The account stays unverified until the code is confirmed (allauth then marks the phone
    verified and signs the member in); requests are rate-limited per number and per IP.
    Members sign in by phone only (operators use e-mail and password on the login page), so the
    phone is required and the e-mail field allauth adds is dropped.
    """

    _user: User | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True

    def clean_phone(self) -> str:
        phone = super().clean_phone()
        if phone:
            try:
                check_limits(phone=phone, kind=VERIFICATION_CODE, ip=_client_ip(context.request))
            except SmsRateLimited:
                raise ValidationError(_("验证码发送太频繁，请稍后再试。"), code="sms_rate_limited") from None
        if phone and self._user is None:
            self._user = _member_for_phone(phone)
        return phone


def _member_for_phone(phone: str) -> User:
    try:
        with transaction.atomic():
            user = User(phone=phone, phone_verified=False, username=phone)
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:  # another request created it first
        return User.objects.get(phone=phone)


def _client_ip(request) -> str | None:
    if request is None:
        return None
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None
