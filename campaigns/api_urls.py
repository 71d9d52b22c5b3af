"""The campaigns API, mounted at /api/v1/ (shequn/api_urls.py): the engine's own, then each campaign
type's (its kind's `api_urls` module), read from the registry."""

from django.urls import include, path

from . import api, registry

urlpatterns = [
    path("me/campaigns/<int:pk>/", api.CampaignView.as_view(), name="api-my-campaign"),
    path("me/groups/<int:pk>/campaigns/", api.GroupCampaignsView.as_view(), name="api-my-group-campaigns"),
    path("me/participations/", api.MyParticipationsView.as_view(), name="api-my-participations"),
    *(path("", include(module)) for module in registry.modules("api_urls")),
]
