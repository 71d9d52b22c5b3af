"""The member's inbox and preferences API, mounted at /api/v1/ (shequn/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/notifications/", api.MyNotificationsView.as_view(), name="api-my-notifications"),
    path("me/notifications/unread-count/", api.MyUnreadCountView.as_view(), name="api-my-notifications-unread"),
    path("me/notifications/read-all/", api.MyNotificationsReadAllView.as_view(), name="api-my-notifications-read-all"),
    path("me/notifications/<int:pk>/", api.MyNotificationView.as_view(), name="api-my-notification"),
    path("me/notifications/<int:pk>/read/", api.MyNotificationReadView.as_view(), name="api-my-notification-read"),
    path("me/notification-preferences/", api.MyPreferencesView.as_view(), name="api-my-preferences"),
    path("me/wechat-subscriptions/", api.MyWechatSubscriptionsView.as_view(), name="api-my-wechat-subscriptions"),
    path(
        "me/notification-preferences/<int:shop_id>/",
        api.MyShopPreferencesView.as_view(),
        name="api-my-shop-preferences",
    ),
]
