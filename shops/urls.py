"""Shop settings and staff pages, included at /dashboard/shop/ in the `dashboard` namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/", views.shop_settings, name="shop_settings"),
    path("operators/", views.operators, name="operators"),
    path("operators/add/", views.operator_add, name="operator_add"),
    path("operators/<int:pk>/role/", views.operator_role, name="operator_role"),
    path("operators/<int:pk>/remove/", views.operator_remove, name="operator_remove"),
    path("switch/", views.switch_shop, name="switch_shop"),
]
