"""Members' referral pages, included by groups/member_urls.py at /m/referrals/ (namespace "member")."""

from django.urls import path

from . import member_views as views

urlpatterns = [
    path("", views.my_referrals, name="referrals"),
    path("withdraw/", views.withdraw, name="referral_withdraw"),
]
