"""Members' inbox and message preferences, mounted at /m/inbox/ (shequn/urls.py)."""

from django.urls import path

from . import member_views as views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="detail"),
    path("read-all/", views.read_all, name="read_all"),
    path("settings/", views.preferences, name="preferences"),
    path("settings/<int:shop_id>/", views.shop_preferences, name="shop_preferences"),
]
