from django.urls import path

from . import api

urlpatterns = [
    path("shop/segments/", api.ShopSegmentsView.as_view(), name="api-shop-segments"),
    path("shop/segments/<int:pk>/", api.ShopSegmentView.as_view(), name="api-shop-segment"),
    path("shop/segments/<int:pk>/members/", api.ShopSegmentMembersView.as_view(), name="api-shop-segment-members"),
    path("shop/segments/<int:pk>/invite/", api.ShopSegmentInviteView.as_view(), name="api-shop-segment-invite"),
    path("shop/tag-rules/", api.ShopTagRulesView.as_view(), name="api-shop-tag-rules"),
    path("shop/broadcasts/", api.ShopBroadcastsView.as_view(), name="api-shop-broadcasts"),
    path("shop/broadcasts/<int:pk>/", api.ShopBroadcastView.as_view(), name="api-shop-broadcast"),
    path("shop/broadcasts/<int:pk>/send/", api.ShopBroadcastSendView.as_view(), name="api-shop-broadcast-send"),
]
