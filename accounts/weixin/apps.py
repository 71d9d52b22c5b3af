from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WeixinConfig(AppConfig):
    name = "accounts.weixin"
    label = "weixin"
    verbose_name = _("微信登录")
