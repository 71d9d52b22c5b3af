"""The orders API (catalog, orders, payments, after-sales), mounted at /api/v1/ (shequn/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    # Member clients
    path("me/groups/<int:pk>/products/", api.MyGroupProductsView.as_view(), name="api-my-group-products"),
    path(
        "me/groups/<int:pk>/products/<int:product_id>/", api.MyGroupProductView.as_view(), name="api-my-group-product"
    ),
    path("me/groups/<int:pk>/pickup-points/", api.MyGroupPickupPointsView.as_view(), name="api-my-group-pickup-points"),
    path("me/groups/<int:pk>/orders/", api.MyGroupOrdersView.as_view(), name="api-my-group-orders"),
    path("me/groups/<int:pk>/quote/", api.MyGroupQuoteView.as_view(), name="api-my-group-quote"),
    path("me/orders/", api.MyOrdersView.as_view(), name="api-my-orders"),
    path("me/orders/<int:pk>/", api.MyOrderView.as_view(), name="api-my-order"),
    path("me/orders/<int:pk>/pay/", api.MyOrderPayView.as_view(), name="api-my-order-pay"),
    path("me/orders/<int:pk>/cancel/", api.MyOrderCancelView.as_view(), name="api-my-order-cancel"),
    path(
        "me/orders/<int:pk>/request-refund/", api.MyOrderRequestRefundView.as_view(), name="api-my-order-request-refund"
    ),
    path(
        "me/orders/<int:pk>/confirm-receipt/",
        api.MyOrderConfirmReceiptView.as_view(),
        name="api-my-order-confirm-receipt",
    ),
    path("me/orders/<int:pk>/after-sales/", api.MyOrderAfterSalesView.as_view(), name="api-my-order-after-sales"),
    # Operators: catalog
    path("shop/products/", api.ShopProductsView.as_view(), name="api-shop-products"),
    path("shop/products/<int:pk>/", api.ShopProductView.as_view(), name="api-shop-product"),
    path("shop/products/<int:pk>/images/", api.ShopProductImagesView.as_view(), name="api-shop-product-images"),
    path("shop/products/<int:pk>/skus/", api.ShopProductSkusView.as_view(), name="api-shop-product-skus"),
    path("shop/skus/<int:pk>/", api.ShopSkuView.as_view(), name="api-shop-sku"),
    path("shop/skus/<int:pk>/stock/", api.ShopSkuStockView.as_view(), name="api-shop-sku-stock"),
    path("shop/pickup-points/", api.ShopPickupPointsView.as_view(), name="api-shop-pickup-points"),
    path("shop/pickup-points/<int:pk>/", api.ShopPickupPointView.as_view(), name="api-shop-pickup-point"),
    # Operators: orders and after-sales
    path("shop/orders/", api.ShopOrdersView.as_view(), name="api-shop-orders"),
    path("shop/orders/<int:pk>/", api.ShopOrderView.as_view(), name="api-shop-order"),
    path("shop/orders/<int:pk>/ship/", api.ShopOrderShipView.as_view(), name="api-shop-order-ship"),
    path("shop/orders/<int:pk>/cancel/", api.ShopOrderCancelView.as_view(), name="api-shop-order-cancel"),
    path("shop/orders/<int:pk>/refund/", api.ShopOrderRefundView.as_view(), name="api-shop-order-refund"),
    path(
        "shop/orders/<int:pk>/approve-refund/",
        api.ShopOrderApproveRefundView.as_view(),
        name="api-shop-order-approve-refund",
    ),
    path(
        "shop/orders/<int:pk>/reject-refund/",
        api.ShopOrderRejectRefundView.as_view(),
        name="api-shop-order-reject-refund",
    ),
    path("shop/after-sales/", api.ShopCasesView.as_view(), name="api-shop-cases"),
    path("shop/after-sales/<int:pk>/", api.ShopCaseView.as_view(), name="api-shop-case"),
    path("shop/after-sales/<int:pk>/close/", api.ShopCaseCloseView.as_view(), name="api-shop-case-close"),
]
