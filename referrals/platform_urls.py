"""Platform admin pages (is_staff): every shop's leaderboards and fraud review. Mounted at /platform/
by shequn/urls.py in the `platform` namespace."""

from django.urls import path

from . import board_views, fraud_views

app_name = "platform"

urlpatterns = [
    path("leaderboards/", board_views.platform_boards, name="leaderboards"),
    path("leaderboards/export.csv", board_views.platform_export, name="leaderboard_export"),
    path("leaderboards/rebuild/", board_views.platform_rebuild, name="leaderboard_rebuild"),
    path("shops/<int:shop_id>/members/<int:user_id>/", board_views.platform_member, name="member"),
    path("fraud/", fraud_views.platform_flag_list, name="fraud_flags"),
    path("fraud/<int:pk>/", fraud_views.platform_flag_detail, name="fraud_flag"),
    path("fraud/<int:pk>/decide/", fraud_views.platform_flag_decide, name="fraud_decide"),
]
