"""The campaigns API, mounted at /api/v1/ (shequn/api_urls.py). Each type's own API urls
(`campaigns/<type>_api_urls.py`) are included when the module exists."""

import importlib.util

from django.urls import include, path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/", api.CampaignView.as_view(), name="api-my-campaign"),
    path("me/campaigns/<int:pk>/teams/", api.CampaignTeamsView.as_view(), name="api-my-campaign-teams"),
    path("me/campaigns/<int:pk>/teams/<int:team_pk>/", api.TeamView.as_view(), name="api-my-campaign-team"),
    path(
        "me/campaigns/<int:pk>/teams/<int:team_pk>/join/", api.TeamJoinView.as_view(), name="api-my-campaign-team-join"
    ),
    path("me/teams/", api.MyTeamsView.as_view(), name="api-my-teams"),
]

for _type in ("help", "bargain", "give", "coupon", "contest", "swap"):
    if importlib.util.find_spec(f"campaigns.{_type}_api_urls") is not None:
        urlpatterns.append(path("", include(f"campaigns.{_type}_api_urls")))
