from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.weixin.views import WeixinOAuth2Adapter
from django.conf import settings
from django.http import Http404

from .client import WechatBrowserOAuth2Client


class WechatBrowserOAuth2Adapter(WeixinOAuth2Adapter):
    provider_id = "weixin"
    client_class = WechatBrowserOAuth2Client
    access_token_method = "GET"  # sns/oauth2/access_token is documented as a GET

    @property
    def access_token_url(self):
        return settings.WECHAT_API_BASE.rstrip("/") + "/sns/oauth2/access_token"

    @property
    def profile_url(self):
        return settings.WECHAT_API_BASE.rstrip("/") + "/sns/userinfo"

    def complete_login(self, request, app, token, **kwargs):  # noqa: ARG002 (allauth's signature)
        """snsapi_base gives the openid only; snsapi_userinfo may read the nickname and avatar."""
        response = kwargs.get("response") or {}
        openid = response.get("openid")
        if not openid:
            raise OAuth2Error(f"no openid in WeChat's answer: {response}")
        extra_data = {"openid": openid, "scope": response.get("scope", "")}
        if response.get("unionid"):
            extra_data["unionid"] = response["unionid"]
        if "snsapi_userinfo" in response.get("scope", ""):
            with get_adapter().get_requests_session() as session:
                answer = session.get(
                    self.profile_url, params={"access_token": token.token, "openid": openid, "lang": "zh_CN"}
                )
                answer.raise_for_status()
                profile = answer.json()
            if "errcode" in profile:
                raise OAuth2Error(f"WeChat userinfo: {profile}")
            extra_data.update(profile)
        return self.get_provider().sociallogin_from_response(request, extra_data)


def _enabled(view):
    def wrapped(request, *args, **kwargs):
        if not settings.WEIXIN_LOGIN_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


oauth2_login = _enabled(OAuth2LoginView.adapter_view(WechatBrowserOAuth2Adapter))
oauth2_callback = _enabled(OAuth2CallbackView.adapter_view(WechatBrowserOAuth2Adapter))
