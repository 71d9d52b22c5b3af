"""秒杀 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/flash/buy/", views.buy, name="flash_buy"),
]
