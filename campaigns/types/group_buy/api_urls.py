"""The 拼团 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/teams/", api.CampaignTeamsView.as_view(), name="api-my-campaign-teams"),
    path("me/campaigns/<int:pk>/teams/<int:team_pk>/", api.TeamView.as_view(), name="api-my-campaign-team"),
    path(
        "me/campaigns/<int:pk>/teams/<int:team_pk>/join/", api.TeamJoinView.as_view(), name="api-my-campaign-team-join"
    ),
    path("me/teams/", api.MyTeamsView.as_view(), name="api-my-teams"),
]
