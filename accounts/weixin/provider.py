from allauth.socialaccount.providers.weixin.provider import WeixinAccount, WeixinProvider

from .views import WechatBrowserOAuth2Adapter

SCOPES = ("snsapi_base", "snsapi_userinfo")


class WechatBrowserProvider(WeixinProvider):
    id = "weixin"
    name = "微信"
    account_class = WeixinAccount
    oauth2_adapter_class = WechatBrowserOAuth2Adapter

    def get_default_scope(self):
        return ["snsapi_base"]

    def get_scope_from_request(self, request):
        # WeChat takes exactly one scope: a requested one replaces the default instead of joining it.
        wanted = request.GET.get("scope")
        return [wanted] if wanted in SCOPES else self.get_scope()

    def extract_common_fields(self, data):
        nickname = (data.get("nickname") or "")[:40]
        return {"username": "", "name": nickname}


provider_classes = [WechatBrowserProvider]
