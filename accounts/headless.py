"""allauth headless (the app and browser JSON clients) with the members' phone sign-in.

allauth's headless code-request view uses its own input class and ignores ACCOUNT_FORMS, so a new
number would get neither an account nor a code. This view uses PhoneCodeLoginForm instead; the
URLs route it in front of allauth's own (shequn/urls.py).
"""

from allauth.headless.account.views import RequestLoginCodeView
from allauth.headless.internal.restkit.inputs import Input

from .forms import PhoneCodeLoginForm


class PhoneCodeLoginInput(PhoneCodeLoginForm, Input):
    pass


class PhoneCodeLoginView(RequestLoginCodeView):
    input_class = PhoneCodeLoginInput
