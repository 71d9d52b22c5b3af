"""Members' order pages, mounted at /m/ inside the "orders" namespace by orders/urls.py."""

from django.urls import path

from . import member_views as views

urlpatterns = [
    path("groups/<int:group_id>/shop/", views.group_shop, name="group_shop"),
    path("groups/<int:group_id>/shop/<int:pk>/", views.product_page, name="product"),
    path("groups/<int:group_id>/checkout/", views.checkout, name="checkout"),
    path("orders/", views.my_orders, name="my_orders"),
    path("orders/<int:pk>/", views.order_detail, name="member_order"),
    path("orders/<int:pk>/pay/", views.pay, name="pay"),
    path("orders/<int:pk>/paid/", views.after_payment, name="after_payment"),
    path("orders/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("orders/<int:pk>/receive/", views.complete, name="complete"),
    path("orders/<int:pk>/refund/", views.refund, name="refund"),
    path("orders/<int:pk>/after-sales/", views.open_case, name="open_case"),
]

# The one-tap re-order page repeat-purchase reminders link to (orders/reorder_views.py).
from . import reorder_views  # noqa: E402

urlpatterns += [path("reorder/<int:product_id>/", reorder_views.reorder, name="reorder")]
