"""allauth adapter: where members' mobile numbers are stored and how codes reach them."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import User
from .phones import MainlandPhoneField, normalize_mainland_phone
from .sms import VERIFICATION_CODE, SmsError, send_sms


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """No sign-up form: members get an account by confirming an SMS code (PhoneCodeLoginForm),
        operators are added by their shop's owner, shops by the platform (admin or create_shop)."""
        return False

    def phone_form_field(self, **kwargs):
        return MainlandPhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return normalize_mainland_phone(phone)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        """Through the SMS provider's verification-code template; within the per-number and per-address
        limits (a form checks them first, accounts.forms): over a limit the code is not sent, and logged."""
        try:
            send_sms(
                phone,
                _("您的验证码是 %(code)s，10 分钟内有效。请勿告诉他人。") % {"code": code},
                kind=VERIFICATION_CODE,
                params={"code": code},
                ip=self._client_ip(),
            )
        except SmsError:
            pass  # recorded by send_sms (SmsRecord) for operators; the member may ask for a new code

    def _client_ip(self) -> str | None:
        request = getattr(self, "request", None) or context.request
        if request is None:
            return None
        try:
            return self.get_client_ip(request)
        except PermissionDenied:
            return None

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user.phone = phone
        user.phone_verified = verified
        if not user.username:
            user.username = phone
        user.save(update_fields=["phone", "phone_verified", "username"] if user.pk else None)

    def get_phone(self, user):
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone_verified(self, user, phone: str) -> None:
        User.objects.filter(pk=user.pk, phone=phone).update(phone_verified=True)
        user.phone_verified = True

    def get_user_by_phone(self, phone: str):
        return User.objects.filter(phone=phone).order_by("pk").first()


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        """A member's first WeChat sign-in (when WEIXIN_LOGIN_ENABLED) creates their account, as the
        SMS code does; the e-mail/password sign-up stays closed."""
        return True
