"""Operator dashboard URLs for referrals, included by shequn/dashboard_urls.py at /dashboard/referrals/
in the `dashboard` namespace."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.overview, name="referrals"),
    path("members/<int:user_id>/", views.member_detail, name="referral_member"),
    path("rewards/", views.rewards, name="referral_rewards"),
    path("withdrawals/", views.withdrawals, name="referral_withdrawals"),
    path("withdrawals/<int:pk>/<str:action>/", views.withdrawal_action, name="referral_withdrawal_action"),
    path("stewards/", views.steward_rewards, name="referral_stewards"),
    path("settings/", views.settings_page, name="referral_settings"),
    path("settings/rules/", views.rule_create, name="referral_rule_create"),
    path("settings/rules/<int:pk>/deactivate/", views.rule_deactivate, name="referral_rule_deactivate"),
]
