"""Members' mobile pages, mounted at /m/ under the namespace "member" by the root URLconf."""

from django.urls import include, path

from . import member_views as views

urlpatterns = [
    path("j/<str:code>/", views.landing, name="landing"),
    path("j/<str:code>/join/", views.join, name="join"),
    path("groups/", views.my_groups, name="my_groups"),
    path("groups/<int:pk>/", views.group_page, name="group"),
    path("groups/<int:pk>/leave/", views.leave, name="leave"),
    path("groups/<int:pk>/invite/", views.my_invite, name="my_invite"),
    path("links/<str:code>/qr.png", views.invite_qr, name="invite_qr"),
    path("links/<str:code>/qr.svg", views.invite_qr_svg, name="invite_qr_svg"),
    path("links/<str:code>/poster.png", views.invite_poster, name="invite_poster"),
    path("referrals/", include("referrals.member_urls")),
]

# The group space (群空间): groups/space_urls.py.
from .space_urls import member_urlpatterns as space_urlpatterns  # noqa: E402

urlpatterns += [path("groups/<int:pk>/space/", include(space_urlpatterns))]
