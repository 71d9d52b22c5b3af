"""The 比 contest member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/contest/", api.MyContestView.as_view(), name="api-my-contest"),
]
