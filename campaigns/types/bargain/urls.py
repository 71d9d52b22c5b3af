"""砍 砍价 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/bargain/start/", views.start, name="bargain_start"),
    path("bargain/<int:task_pk>/", views.bargain_page, name="bargain"),
    path("bargain/<int:task_pk>/cut/", views.cut, name="bargain_cut"),
    path("bargain/<int:task_pk>/buy/", views.buy, name="bargain_buy"),
    path("bargain/<int:task_pk>/qr.png", views.share_qr, name="bargain_qr"),
    path("bargain/<int:task_pk>/poster.png", views.share_poster, name="bargain_poster"),
]
