"""帮 助力 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/help/start/", views.start, name="help_start"),
    path("help/<int:task_pk>/", views.task_page, name="help_task"),
    path("help/<int:task_pk>/help/", views.give, name="help_give"),
    path("help/<int:task_pk>/claim/", views.claim, name="help_claim"),
    path("help/<int:task_pk>/qr.png", views.share_qr, name="help_qr"),
    path("help/<int:task_pk>/poster.png", views.share_poster, name="help_poster"),
]
