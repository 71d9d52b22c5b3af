from django.conf import settings


def wechat(request) -> dict:
    """Whether the page is open in WeChat's own browser, and whether WeChat sign-in is offered there."""
    in_wechat = "MicroMessenger" in request.META.get("HTTP_USER_AGENT", "")
    return {"in_wechat": in_wechat, "weixin_login": in_wechat and settings.WEIXIN_LOGIN_ENABLED}
