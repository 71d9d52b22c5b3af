from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("账户")

    def ready(self) -> None:
        # Every allauth view and login stage starts and resumes the login-by-code process through this one
        # name; ours adds the sign-in limits and makes a new member's account only once the code is right.
        from allauth.account.internal.flows import login_by_code

        from .signin import PhoneLoginCodeProcess

        login_by_code.LoginCodeVerificationProcess = PhoneLoginCodeProcess
