"""券 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("coupons/", views.centre, name="coupon_centre"),
    path("<int:pk>/coupon/claim/", views.claim, name="coupon_claim"),
]
