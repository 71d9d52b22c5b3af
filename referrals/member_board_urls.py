"""Members' leaderboard page, mounted at /m/leaderboard/ by shequn/urls.py in the `boards` namespace."""

from django.urls import path

from . import board_views

app_name = "boards"

urlpatterns = [
    path("", board_views.my_rank, name="my_rank"),
]
