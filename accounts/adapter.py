"""allauth adapter: where members' mobile numbers are stored and how codes reach them."""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from shequn.client import client_ip

from . import signin
from .identity import WEIXIN
from .models import User
from .phones import MainlandPhoneField, normalize_mainland_phone
from .sms import VERIFICATION_CODE, SmsError, send_sms

logger = logging.getLogger("shequn.sms")


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
        """Through the SMS provider's verification-code template; within the sign-in limits (accounts.signin:
        back-off per number, per device) and the SMS limits (per number and per address). A form checks
        them first (accounts.forms); over a limit here (a resend, a race) the code is not sent, and logged."""
        request = getattr(self, "request", None) or context.request
        try:
            signin.take_code_request(phone=phone, request=request)
            send_sms(
                phone,
                _("您的验证码是 %(code)s，10 分钟内有效。请勿告诉他人。") % {"code": code},
                kind=VERIFICATION_CODE,
                params={"code": code},
                ip=client_ip(request) if request is not None else None,
            )
        except signin.SignInLimited as refused:
            logger.warning("Sign-in code to %s not sent: %s", phone[:-4] + "****", refused)
        except SmsError:
            pass  # recorded by send_sms (SmsRecord) for operators; the member may ask for a new code

    def get_client_ip(self, request) -> str:
        """The client's address through the trusted proxies (shequn.client), for allauth's rate limits."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

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


# The openid a member chose "continue as a new member" for, on the first WeChat sign-in page.
NEW_MEMBER_CONFIRMED = "shequn_weixin_new_member"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """WeChat sign-in (accounts/weixin): silent for a known member; a new one shares their nickname and
    avatar once, then chooses between a new account and binding the WeChat to their phone account
    (accounts.views.weixin_first_sign_in)."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        """A member's first WeChat sign-in (when WEIXIN_LOGIN_ENABLED) creates their account, as the
        SMS code does; the e-mail/password sign-up stays closed."""
        return True

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.account.provider != WEIXIN or sociallogin.is_existing:
            return
        if "nickname" not in sociallogin.account.extra_data:
            # Seen silently (snsapi_base) and new here: ask WeChat once for the nickname and avatar.
            provider = sociallogin.account.get_provider()
            next_url = sociallogin.state.get("next")
            raise ImmediateHttpResponse(
                provider.redirect(request, "login", next_url=next_url, scope=["snsapi_userinfo"])
            )

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        """A new WeChat member first sees who WeChat says they are and chooses: a new account, or bind
        the WeChat to the phone account they already have."""
        if sociallogin.account.provider == WEIXIN:
            return request.session.get(NEW_MEMBER_CONFIRMED) == sociallogin.account.uid
        return super().is_auto_signup_allowed(request, sociallogin)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if sociallogin.account.provider == WEIXIN:
            extra = sociallogin.account.extra_data
            user.display_name = (extra.get("nickname") or "")[:40]
            user.avatar_url = (extra.get("headimgurl") or "")[:500]
            user.username = f"wx_{sociallogin.account.uid}"[:150]
        return user
