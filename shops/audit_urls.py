"""The shop's audit log, included at /dashboard/audit/ in the `dashboard` namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
]
