"""The referrals API, mounted at /api/v1/ (shequn/api_urls.py)."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    # Member clients
    path("me/referrals/", api.MyInviteesView.as_view(), name="api-my-referrals"),
    path("me/referral-rewards/", api.MyRewardsView.as_view(), name="api-my-referral-rewards"),
    path("me/commission/", api.MyCommissionView.as_view(), name="api-my-commission"),
    path("me/withdrawals/", api.MyWithdrawalsView.as_view(), name="api-my-withdrawals"),
    # Operators
    path("shop/referral-rewards/", api.ShopRewardsView.as_view(), name="api-shop-referral-rewards"),
    path("shop/steward-rules/", api.ShopStewardRulesView.as_view(), name="api-shop-steward-rules"),
    path("shop/steward-rewards/", api.ShopStewardRewardsView.as_view(), name="api-shop-steward-rewards"),
    path("shop/withdrawals/", api.ShopWithdrawalsView.as_view(), name="api-shop-withdrawals"),
    re_path(
        r"^shop/withdrawals/(?P<pk>[0-9]+)/(?P<action>approve|reject|mark-paid)/$",
        api.ShopWithdrawalActionView.as_view(),
        name="api-shop-withdrawal-action",
    ),
    path("shop/referrals/viral/", api.ShopViralView.as_view(), name="api-shop-referral-viral"),
]
