"""The 送 赠送 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/gifts/", api.BuyGiftView.as_view(), name="api-give-buy"),
    path("me/campaigns/<int:pk>/treats/", api.StartTreatView.as_view(), name="api-give-treat"),
    path("me/gifts/", api.MyGiftsView.as_view(), name="api-my-gifts"),
    path("me/gifts/<str:token>/", api.GiftView.as_view(), name="api-gift"),
    path("me/gifts/<str:token>/claim/", api.GiftClaimView.as_view(), name="api-gift-claim"),
]
