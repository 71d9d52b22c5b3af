"""Dashboard URLs for the shop's payment accounts and reconciliation, at /dashboard/payments/ in the
`dashboard` namespace (shequn/dashboard_urls.py)."""

from django.urls import path

from . import payment_dashboard_views as views

urlpatterns = [
    path("", views.payment_settings, name="payment_settings"),
    path("reconcile/", views.reconcile_now, name="reconcile_now"),
    path("reconciliation/<int:pk>/", views.reconciliation, name="reconciliation"),
    path("ledger/", views.ledger_check, name="ledger_check"),
    path("<str:provider>/", views.payment_account_edit, name="payment_account_edit"),
]
