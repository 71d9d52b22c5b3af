"""The 换物 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/swap/listings/", api.MySwapListingsView.as_view(), name="api-my-swap-listings"),
    path("me/swap/listings/<int:listing>/", api.MySwapListingView.as_view(), name="api-my-swap-listing"),
    path("me/swap/listings/<int:listing>/offers/", api.MySwapOfferView.as_view(), name="api-my-swap-offer"),
    path("me/swap/listings/<int:listing>/report/", api.MySwapReportView.as_view(), name="api-my-swap-report"),
    path("me/swap/swaps/", api.MySwapsView.as_view(), name="api-my-swaps"),
    path("me/swap/swaps/<int:swap>/", api.MySwapView.as_view(), name="api-my-swap"),
    path("me/swap/swaps/<int:swap>/<str:action>/", api.MySwapActView.as_view(), name="api-my-swap-act"),
]
