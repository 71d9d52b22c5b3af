from django.urls import path

from . import api

urlpatterns = [
    path("shop/analytics/funnel/", api.FunnelView.as_view(), name="api-analytics-funnel"),
    path("shop/analytics/repeat/", api.RepeatView.as_view(), name="api-analytics-repeat"),
    path("shop/analytics/cohorts/", api.CohortView.as_view(), name="api-analytics-cohorts"),
    path("shop/analytics/campaigns/", api.CampaignRoiView.as_view(), name="api-analytics-campaigns"),
    path("shop/analytics/campaigns/<int:pk>/", api.CampaignDailyView.as_view(), name="api-analytics-campaign"),
    path("shop/analytics/groups/", api.GroupRankingView.as_view(), name="api-analytics-groups"),
]
