"""The 秒杀 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/flash-orders/", api.FlashOrdersView.as_view(), name="api-my-flash-orders"),
]
