from django.urls import path

from . import views

urlpatterns = [
    path("", views.funnel, name="analytics_funnel"),
    path("repeat/", views.repeat, name="analytics_repeat"),
    path("cohorts/", views.cohorts, name="analytics_cohorts"),
    path("campaigns/", views.campaigns, name="analytics_campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="analytics_campaign"),
    path("groups/", views.groups, name="analytics_groups"),
]
