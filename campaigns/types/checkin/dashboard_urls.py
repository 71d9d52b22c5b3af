"""打卡 operator pages, included by campaigns/dashboard_urls.py in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("checkins/<int:checkin_pk>/hide/", views.set_hidden, {"action": "hide"}, name="checkin_hide"),
    path("checkins/<int:checkin_pk>/show/", views.set_hidden, {"action": "show"}, name="checkin_show"),
]
