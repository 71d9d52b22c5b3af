"""The 券 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/coupons/", api.MyCouponsView.as_view(), name="api-my-coupons"),
    path("me/coupon-centre/", api.CouponCentreView.as_view(), name="api-coupon-centre"),
    path("me/campaigns/<int:pk>/coupon/claim/", api.ClaimCouponView.as_view(), name="api-coupon-claim"),
]
