"""比 contest operator actions, included by campaigns/dashboard_urls.py in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("<int:pk>/contest/settle/", views.settle, name="contest_settle"),
    path("contest-prizes/<int:prize_pk>/review/", views.review_prize, name="contest_prize_review"),
]
