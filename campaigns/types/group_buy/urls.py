"""拼团 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/teams/open/", views.open_team, name="open_team"),
    path("<int:pk>/teams/<int:team_pk>/", views.team_page, name="team"),
    path("<int:pk>/teams/<int:team_pk>/join/", views.join_team, name="join_team"),
]
