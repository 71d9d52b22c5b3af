"""Operator dashboard URLs, included by shequn/dashboard_urls.py in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.group_list, name="groups"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/<int:pk>/", views.group_detail, name="group_detail"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/transition/", views.group_transition, name="group_transition"),
    path("groups/<int:pk>/links/new/", views.link_create, name="link_create"),
    path("groups/<int:pk>/owner/", views.group_owner, name="group_owner"),
    path("groups/<int:pk>/my-link/", views.my_link, name="my_link"),
    path("members/<int:pk>/<str:action>/", views.member_action, name="member_action"),
    path("links/<int:pk>/revoke/", views.link_revoke, name="link_revoke"),
    path("links/<int:pk>/qr.png", views.link_qr_png, name="link_qr_png"),
    path("links/<int:pk>/qr.svg", views.link_qr_svg, name="link_qr_svg"),
    path("links/<int:pk>/poster.png", views.link_poster, name="link_poster"),
    path("series/", views.series_list, name="series_list"),
    path("series/new/", views.series_create, name="series_create"),
    path("series/<int:pk>/", views.series_detail, name="series_detail"),
    path("series/<int:pk>/links/new/", views.series_link_create, name="series_link_create"),
]

# Lurkers, weekly health, planned start and the shop's automation settings (groups/health_views.py).
from . import health_views  # noqa: E402

urlpatterns += [
    path("groups/<int:pk>/lurkers/", health_views.group_lurkers, name="group_lurkers"),
    path("groups/<int:pk>/health/", health_views.group_health, name="group_health"),
    path("groups/<int:pk>/planned-start/", health_views.group_planned_start, name="group_planned_start"),
    path("automation/", health_views.automation_settings, name="automation_settings"),
]

# 群规 warnings' appeals (groups/appeal_views.py).
from . import appeal_views  # noqa: E402

urlpatterns += [
    path("appeals/", appeal_views.warning_appeals, name="warning_appeals"),
    path("appeals/<int:pk>/decide/", appeal_views.decide_warning_appeal, name="decide_warning_appeal"),
]


# The group space (群空间): groups/space_urls.py.
from .space_urls import dashboard_urlpatterns as space_urlpatterns  # noqa: E402

urlpatterns += space_urlpatterns

# The complaints and suggestions box (投诉与建议): groups/feedback_views.py.
from . import feedback_views  # noqa: E402

urlpatterns += [
    path("feedback/", feedback_views.dashboard_list, name="feedback"),
    path("feedback/departments/", feedback_views.dashboard_departments, name="feedback_departments"),
    path(
        "feedback/departments/<int:pk>/toggle/",
        feedback_views.dashboard_department_toggle,
        name="feedback_department_toggle",
    ),
    path("feedback/<int:pk>/", feedback_views.dashboard_detail, name="feedback_detail"),
    path("feedback/<int:pk>/photo/", feedback_views.dashboard_photo, name="feedback_photo"),
    path("feedback/<int:pk>/route/", feedback_views.dashboard_route, name="feedback_route"),
    path("feedback/<int:pk>/answer/", feedback_views.dashboard_answer, name="feedback_answer"),
    path("feedback/<int:pk>/close/", feedback_views.dashboard_close, name="feedback_close"),
]
