"""换物 operator pages, included by campaigns/dashboard_urls.py in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("swaps/items/<int:listing_pk>/hide/", views.set_hidden, {"action": "hide"}, name="swap_hide"),
    path("swaps/items/<int:listing_pk>/show/", views.set_hidden, {"action": "show"}, name="swap_show"),
    path("swaps/photos/<int:photo_pk>/", views.photo, name="swap_photo"),
    path("swaps/reports/<int:report_pk>/<str:action>/", views.report_act, name="swap_report_act"),
    path("swaps/<int:swap_pk>/resolve/<str:outcome>/", views.resolve, name="swap_resolve"),
]
