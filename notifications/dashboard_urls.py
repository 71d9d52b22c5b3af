"""Operator pages for notifications, included at /dashboard/notifications/ in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("settings/", views.notification_settings, name="notification_settings"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
]
