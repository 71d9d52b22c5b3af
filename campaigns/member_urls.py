"""Members' campaign pages, mounted at /m/c/ under the namespace "campaigns" by the root URLconf.

Each type's own pages live in `campaigns/<type>_urls.py` (e.g. help_urls, bargain_urls) and are
included here when the module exists, so a new type adds its module and touches nothing else.
"""

import importlib.util

from django.urls import include, path

from . import member_views as views

app_name = "campaigns"

urlpatterns = [
    path("<int:pk>/", views.landing, name="landing"),
    path("<int:pk>/qr.png", views.share_qr, name="share_qr"),
    path("<int:pk>/poster.png", views.share_poster, name="share_poster"),
    path("<int:pk>/teams/open/", views.open_team, name="open_team"),
    path("<int:pk>/teams/<int:team_pk>/", views.team_page, name="team"),
    path("<int:pk>/teams/<int:team_pk>/join/", views.join_team, name="join_team"),
    path("teams/mine/", views.my_teams, name="my_teams"),
]

for _type in ("help", "bargain", "give", "coupon", "contest", "swap"):
    if importlib.util.find_spec(f"campaigns.{_type}_urls") is not None:
        urlpatterns.append(path("", include(f"campaigns.{_type}_urls")))
