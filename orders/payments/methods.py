"""Which ways of paying a member is offered, from the shop's merchant accounts and where the member is.

- Inside WeChat's browser: WeChat Pay JSAPI (needs the member's openid from WeChat sign-in); Alipay
  pages do not open there.
- In another phone browser: WeChat Pay H5 and Alipay mobile web (wap).
- On a desktop: WeChat Pay Native (a QR code to scan) and Alipay page pay.
- A shop without an enabled merchant account falls back to settings.DEFAULT_PAYMENT_PROVIDER when that
  provider needs no account (the simulated one, where it is allowed).
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.identity import wechat_openid

from . import provider_class, simulated_allowed

WECHAT_BROWSER, MOBILE, DESKTOP = "wechat", "mobile", "desktop"

# channel -> (provider, where it works, what the member reads)
CHANNELS = {
    "jsapi": ("wechatpay", {WECHAT_BROWSER}, _("微信支付")),
    "h5": ("wechatpay", {MOBILE}, _("微信支付")),
    "native": ("wechatpay", {DESKTOP}, _("微信扫码支付")),
    "wap": ("alipay", {MOBILE}, _("支付宝")),
    "page": ("alipay", {DESKTOP}, _("支付宝")),
    "simulated": ("simulated", {WECHAT_BROWSER, MOBILE, DESKTOP}, _("模拟支付")),
}
_MOBILE_MARKERS = ("Mobile", "Android", "iPhone", "iPad", "HarmonyOS")


def client_kind(user_agent: str) -> str:
    user_agent = user_agent or ""
    if "MicroMessenger" in user_agent:
        return WECHAT_BROWSER
    if any(marker in user_agent for marker in _MOBILE_MARKERS):
        return MOBILE
    return DESKTOP


@dataclass(frozen=True)
class PaymentMethod:
    provider: str
    channel: str
    label: str
    account: object | None  # orders.models.PaymentAccount

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.channel}"


def available_methods(*, shop, client: str, openid: str = "") -> list[PaymentMethod]:
    """The ways this shop's member can pay from this client, best first."""
    from ..models import PaymentAccount

    accounts = {a.provider: a for a in PaymentAccount.objects.filter(shop=shop, is_enabled=True)}
    methods = []
    for channel, (provider, where, label) in CHANNELS.items():
        if client not in where or provider not in accounts:
            continue
        if channel == "jsapi" and not openid:
            continue
        methods.append(PaymentMethod(provider=provider, channel=channel, label=str(label), account=accounts[provider]))
    if not accounts:
        fallback = settings.DEFAULT_PAYMENT_PROVIDER
        if fallback and (fallback != "simulated" or simulated_allowed()):
            cls = provider_class(fallback)
            if not cls.needs_account:
                methods.append(
                    PaymentMethod(provider=fallback, channel=cls.channels[0], label=str(cls.label), account=None)
                )
    return methods


def paying_client(request) -> dict:
    """Where the member pays from: the kind of browser, their WeChat openid, their address (WeChat Pay
    H5 wants the payer's IP). Keyword arguments for orders.services.start_payment."""
    from allauth.account.adapter import get_adapter

    return {
        "client": client_kind(request.META.get("HTTP_USER_AGENT", "")),
        "openid": wechat_openid(request.user),
        "client_ip": get_adapter(request).get_client_ip(request),
    }
