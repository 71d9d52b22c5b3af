"""The 打卡 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/checkin/", api.MyCheckinView.as_view(), name="api-my-checkin"),
    path("me/campaigns/<int:pk>/checkin/makeup/", api.MyCheckinMakeUpView.as_view(), name="api-my-checkin-makeup"),
    path("shop/checkins/<int:pk>/hide/", api.ShopCheckinHideView.as_view(), name="api-shop-checkin-hide"),
    path("shop/checkins/<int:pk>/show/", api.ShopCheckinShowView.as_view(), name="api-shop-checkin-show"),
]
