from django.urls import include, path

from . import job_views

app_name = "dashboard"

urlpatterns = [
    path("", include("groups.dashboard_urls")),
    path("shop/", include("shops.urls")),
    path("audit/", include("shops.audit_urls")),
    path("orders/", include("orders.dashboard_urls")),
    path("payments/", include("orders.payment_dashboard_urls")),
    path("campaigns/", include("campaigns.dashboard_urls")),
    path("playbooks/", include("playbooks.dashboard_urls")),
    path("jobs/", job_views.job_list, name="jobs"),
    path("referrals/", include("referrals.dashboard_urls")),
    path("leaderboards/", include("referrals.board_urls")),
    path("fraud/", include("referrals.fraud_urls")),
    path("notifications/", include("notifications.dashboard_urls")),
    path("segments/", include("segments.dashboard_urls")),
    path("analytics/", include("analytics.dashboard_urls")),
]
