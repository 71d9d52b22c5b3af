"""Operator dashboard URLs for fraud review, included by shequn/dashboard_urls.py at /dashboard/fraud/
in the `dashboard` namespace."""

from django.urls import path

from . import fraud_views as views

urlpatterns = [
    path("", views.flag_list, name="fraud_flags"),
    path("settings/", views.fraud_settings_page, name="fraud_settings"),
    path("<int:pk>/", views.flag_detail, name="fraud_flag"),
    path("<int:pk>/decide/", views.flag_decide, name="fraud_decide"),
]
