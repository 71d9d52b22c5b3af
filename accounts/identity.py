"""Who a member is at WeChat: the openid their WeChat sign-in gave us (allauth's SocialAccount).

The openid is per app: it is the one of settings.WEIXIN_APP_ID (the official account members sign in
through), which is also the app id WeChat Pay JSAPI payments and template messages must use.
"""

from allauth.socialaccount.models import SocialAccount

WEIXIN = "weixin"


def wechat_openid(user) -> str:
    """The member's openid for the official account, or "" when they never signed in with WeChat."""
    if user is None or not getattr(user, "pk", None):
        return ""
    account = SocialAccount.objects.filter(user_id=user.pk, provider=WEIXIN).order_by("pk").first()
    return account.uid if account else ""
