"""The 砍 砍价 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/bargains/", api.MyBargainsView.as_view(), name="api-my-bargains"),
    path("me/bargains/<int:pk>/", api.BargainView.as_view(), name="api-bargain"),
    path("me/bargains/<int:pk>/cut/", api.BargainCutView.as_view(), name="api-bargain-cut"),
    path("me/bargains/<int:pk>/buy/", api.BargainBuyView.as_view(), name="api-bargain-buy"),
]
