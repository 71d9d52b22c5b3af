"""Operator pages for segments and broadcasts, included at /dashboard/segments/ in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.segment_list, name="segments"),
    path("new/", views.segment_create, name="segment_create"),
    path("<int:pk>/", views.segment_detail, name="segment_detail"),
    path("<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("<int:pk>/invite/", views.segment_invite, name="segment_invite"),
    path("tags/", views.tag_rules, name="tag_rules"),
    path("tags/new/", views.tag_rule_create, name="tag_rule_create"),
    path("tags/<int:pk>/", views.tag_rule_update, name="tag_rule_update"),
    path("broadcasts/", views.broadcast_list, name="broadcasts"),
    path("broadcasts/new/", views.broadcast_create, name="broadcast_create"),
    path("broadcasts/<int:pk>/", views.broadcast_detail, name="broadcast_detail"),
    path("broadcasts/<int:pk>/send/", views.broadcast_send, name="broadcast_send"),
]
