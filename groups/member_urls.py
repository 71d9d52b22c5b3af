"""Members' mobile pages, mounted at /m/ under the namespace "member" by the root URLconf."""

from django.urls import include, path

from . import member_views as views
from . import steward_views

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
    # A group's 群主/管理员 (groups.powers) and every member's own warnings (groups/steward_views.py).
    path("groups/<int:pk>/manage/applicants/", steward_views.applicants, name="steward_applicants"),
    path(
        "groups/<int:pk>/manage/applicants/<int:membership_pk>/<str:action>/",
        steward_views.decide_applicant,
        name="steward_decide_applicant",
    ),
    path("groups/<int:pk>/manage/members/", steward_views.members, name="steward_members"),
    path("groups/<int:pk>/manage/members/<int:membership_pk>/warn/", steward_views.warn, name="steward_warn"),
    path("groups/<int:pk>/manage/members/<int:membership_pk>/remove/", steward_views.remove, name="steward_remove"),
    path("groups/<int:pk>/manage/figures/", steward_views.figures, name="steward_figures"),
    path("warnings/", steward_views.my_warnings, name="my_warnings"),
    path("warnings/<int:pk>/appeal/", steward_views.appeal, name="warning_appeal"),
]

# The group space (群空间): groups/space_urls.py.
from .space_urls import member_urlpatterns as space_urlpatterns  # noqa: E402

urlpatterns += [path("groups/<int:pk>/space/", include(space_urlpatterns))]

# The complaints and suggestions box (投诉与建议): groups/feedback_views.py.
from . import feedback_views  # noqa: E402

urlpatterns += [
    path("groups/<int:pk>/feedback/", feedback_views.member_new, name="feedback_new"),
    path("feedback/", feedback_views.member_list, name="feedback_list"),
    path("feedback/<int:pk>/", feedback_views.member_detail, name="feedback_detail"),
    path("feedback/<int:pk>/photo/", feedback_views.member_photo, name="feedback_photo"),
]
