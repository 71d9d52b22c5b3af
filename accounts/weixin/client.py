from allauth.socialaccount.providers.weixin.client import WeixinOAuth2Client


class WechatBrowserOAuth2Client(WeixinOAuth2Client):
    def get_redirect_url(self, authorization_url, scope, extra_params):
        # WeChat's web authorisation wants its parameters in this order and the #wechat_redirect suffix.
        return super().get_redirect_url(authorization_url, scope, extra_params) + "#wechat_redirect"
