"""送 赠送 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/give/buy/", views.buy, name="give_buy"),
    path("<int:pk>/give/treat/", views.treat, name="give_treat"),
    path("gifts/", views.my_gifts, name="my_gifts"),
    path("gift/<str:token>/", views.gift_page, name="gift"),
    path("gift/<str:token>/claim/", views.claim, name="gift_claim"),
    path("gift/<str:token>/qr.png", views.gift_qr, name="gift_qr"),
    path("gift/<str:token>/poster.png", views.gift_poster, name="gift_poster"),
]
