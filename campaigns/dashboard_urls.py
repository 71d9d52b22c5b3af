"""Operator dashboard URLs for campaigns, included by shequn/dashboard_urls.py in the `dashboard` namespace.
Each campaign type's operator pages (its kind's `dashboard_urls` module) come first, read from the registry."""

from django.urls import include, path

from . import dashboard_views as views
from . import launch_views, registry

urlpatterns = [
    *(path("", include(module)) for module in registry.modules("dashboard_urls")),
    path("", views.campaign_list, name="campaigns"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("launch/", launch_views.launch_start, name="campaign_launch"),
    path("launch/<str:code>/", launch_views.launch_new, name="campaign_launch_new"),
    path("<int:pk>/launch/", launch_views.launch_draft, name="campaign_launch_draft"),
    path("<int:pk>/launch/preview/", launch_views.launch_preview, name="campaign_launch_preview"),
    path("<int:pk>/preview/", launch_views.landing_preview, name="campaign_landing_preview"),
    path("validate/", views.campaign_validate, name="campaign_validate"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:pk>/figures/", views.campaign_figures, name="campaign_figures"),
    path("<int:pk>/qr.png", views.campaign_qr, name="campaign_qr"),
    path("<int:pk>/poster.png", views.campaign_poster, name="campaign_poster"),
    path("<int:pk>/<str:action>/", views.campaign_action, name="campaign_action"),
]
