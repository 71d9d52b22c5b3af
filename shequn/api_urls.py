from django.urls import include, path

urlpatterns = [
    path("", include("groups.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("playbooks.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("segments.api_urls")),
    path("", include("analytics.api_urls")),
]
