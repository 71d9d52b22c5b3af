from allauth.account.forms import RequestLoginCodeForm
from allauth.core import context
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shequn.client import client_ip

from . import signin
from .sms import VERIFICATION_CODE, SmsRateLimited, check_limits


class PhoneCodeLoginForm(RequestLoginCodeForm):
    """One step for members: any valid mainland number gets a login code (accounts.signin makes the
    account when the code is confirmed, never before), within the sign-in limits (accounts.signin) and
    the SMS limits (accounts.sms), checked here so that a refusal is a message on the form.
    Members sign in by phone only (operators use e-mail and password on the login page), so the
    phone is required and the e-mail field allauth adds is dropped.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True

    def clean_phone(self) -> str:
        # Ours first: with Redis down allauth's own rate limit would refuse with a misleading message.
        phone = self.cleaned_data["phone"]
        if phone:
            request = context.request
            try:
                if not signin.available():
                    raise signin.SignInLimited(_("登录暂时不可用，请稍后再试。"))
                check_limits(phone=phone, kind=VERIFICATION_CODE, ip=client_ip(request) if request else None)
                signin.check_code_request(phone=phone, request=request)
            except signin.SignInLimited as refused:
                raise ValidationError(str(refused), code="sign_in_limited") from None
            except SmsRateLimited:
                raise ValidationError(_("验证码发送太频繁，请稍后再试。"), code="sms_rate_limited") from None
        return super().clean_phone()
