from django.conf import settings

from .intents import pending

SIGN_IN_PAGES = ("account_request_login_code", "account_confirm_login_code")


def wechat(request) -> dict:
    """Whether the page is open in WeChat's own browser, and whether WeChat sign-in is offered there."""
    in_wechat = "MicroMessenger" in request.META.get("HTTP_USER_AGENT", "")
    return {"in_wechat": in_wechat, "weixin_login": in_wechat and settings.WEIXIN_LOGIN_ENABLED}


def sign_in_for(request) -> dict:
    """On the sign-in pages: what the member will have done once signed in (accounts.intents)."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name not in SIGN_IN_PAGES or request.user.is_authenticated:
        return {}
    intent = pending(request)
    return {"sign_in_for": intent["label"]} if intent else {}
