from django.urls import include, path

urlpatterns = [
    path("", include("groups.api_urls")),
    path("", include("orders.api_urls")),
]
