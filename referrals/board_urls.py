"""Operator dashboard URLs for leaderboards, included by shequn/dashboard_urls.py at /dashboard/leaderboards/
in the `dashboard` namespace."""

from django.urls import path

from . import board_views as views

urlpatterns = [
    path("", views.board_page, name="leaderboards"),
    path("export.csv", views.board_export, name="leaderboard_export"),
    path("rebuild/", views.board_rebuild, name="leaderboard_rebuild"),
    path("members/<int:user_id>/", views.board_member, name="leaderboard_member"),
]
