"""Operator dashboard URLs for the catalog, orders and after-sales.

Included by shequn/dashboard_urls.py at /dashboard/orders/ in the `dashboard` namespace.
"""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.order_list, name="orders"),
    path("export.csv", views.orders_export, name="orders_export"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/ship/", views.order_ship, name="order_ship"),
    path("<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("<int:pk>/refund/", views.order_refund, name="order_refund"),
    path("<int:pk>/refund/approve/", views.order_refund_approve, name="order_refund_approve"),
    path("<int:pk>/refund/part/", views.order_refund_part, name="order_refund_part"),
    path("<int:pk>/refund/reject/", views.order_refund_reject, name="order_refund_reject"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/skus/new/", views.sku_create, name="sku_create"),
    path("skus/<int:pk>/edit/", views.sku_edit, name="sku_edit"),
    path("skus/<int:pk>/stock/", views.sku_stock, name="sku_stock"),
    path("pickup-points/", views.pickup_points, name="pickup_points"),
    path("pickup-points/<int:pk>/edit/", views.pickup_point_edit, name="pickup_point_edit"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
]

# Repeat-purchase reminders (orders/reminder_views.py).
from . import reminder_views  # noqa: E402

urlpatterns += [
    path("reminders/", reminder_views.reminders, name="reminders"),
    path("reminders/<int:pk>/", reminder_views.reminder_product, name="reminder_product"),
]

# The fulfilment queue (orders/fulfilment_views.py).
from . import fulfilment_views  # noqa: E402

urlpatterns += [
    path("fulfilment/", fulfilment_views.queue, name="fulfilment"),
    path("fulfilment/<int:pk>/hand-over/", fulfilment_views.hand_over, name="fulfilment_hand_over"),
]
