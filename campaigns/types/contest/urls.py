"""比 contest pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/contest/", views.contest_page, name="contest_page"),
]
