"""Members' campaign pages, mounted at /m/c/ under the namespace "campaigns" by the root URLconf.

The engine's own pages are listed here; each campaign type's pages (its kind's `urls` module) are
included after them, read from the registry, so a new type adds its module and touches nothing else.
"""

from django.urls import include, path

from . import member_views as views
from . import registry

app_name = "campaigns"

urlpatterns = [
    path("<int:pk>/", views.landing, name="landing"),
    path("<int:pk>/qr.png", views.share_qr, name="share_qr"),
    path("<int:pk>/poster.png", views.share_poster, name="share_poster"),
    path("teams/mine/", views.my_teams, name="my_teams"),
    *(path("", include(module)) for module in registry.modules("urls")),
]
