from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import WechatBrowserProvider

urlpatterns = default_urlpatterns(WechatBrowserProvider)
