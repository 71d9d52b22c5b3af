from django.urls import include, path

app_name = "dashboard"

urlpatterns = [
    path("", include("groups.dashboard_urls")),
    path("shop/", include("shops.urls")),
    path("orders/", include("orders.dashboard_urls")),
]
