"""打卡 pages, included by campaigns/member_urls.py at /m/c/ (namespace "campaigns")."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/checkin/", views.checkin_page, name="checkin_page"),
    path("<int:pk>/checkin/do/", views.check_in, name="checkin_do"),
    path("<int:pk>/checkin/makeup/", views.make_up, name="checkin_makeup"),
]
