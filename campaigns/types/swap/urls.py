"""换物 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/swap/", views.market, name="swap_market"),
    path("<int:pk>/swap/new/", views.new_listing, name="swap_new"),
    path("swap/items/<int:listing>/", views.listing_page, name="swap_listing"),
    path("swap/items/<int:listing>/offer/", views.offer, name="swap_offer"),
    path("swap/items/<int:listing>/withdraw/", views.withdraw_listing, name="swap_listing_withdraw"),
    path("swap/items/<int:listing>/report/", views.report_listing, name="swap_report"),
    path("swap/items/<int:listing>/hide/", views.hide_listing, {"action": "hide"}, name="swap_listing_hide"),
    path("swap/items/<int:listing>/show/", views.hide_listing, {"action": "show"}, name="swap_listing_show"),
    path("swap/items/<int:listing>/poster.png", views.poster, name="swap_poster"),
    path("swap/photos/<int:photo>/", views.photo, name="swap_photo"),
    path("swap/s/<str:token>/", views.share_page, name="swap_share"),
    path("swap/s/<str:token>/qr.png", views.share_qr, name="swap_share_qr"),
    path("swap/<int:swap>/", views.swap_page, name="swap_detail"),
    path("swap/<int:swap>/<str:action>/", views.swap_act, name="swap_act"),
]
