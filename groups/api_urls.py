"""The groups API, mounted at /api/v1/ (shequn/api_urls.py)."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    # Member clients
    path("links/<str:code>/", api.LinkLandingView.as_view(), name="api-link"),
    path("links/<str:code>/join/", api.LinkJoinView.as_view(), name="api-link-join"),
    path("me/memberships/", api.MyMembershipsView.as_view(), name="api-my-memberships"),
    path("me/memberships/<int:pk>/leave/", api.MembershipLeaveView.as_view(), name="api-membership-leave"),
    path("me/groups/<int:pk>/invite-link/", api.MyInviteLinkView.as_view(), name="api-my-invite-link"),
    # Operators
    path("shop/groups/", api.ShopGroupsView.as_view(), name="api-shop-groups"),
    path("shop/groups/<int:pk>/", api.ShopGroupView.as_view(), name="api-shop-group"),
    path("shop/groups/<int:pk>/transition/", api.ShopGroupTransitionView.as_view(), name="api-shop-group-transition"),
    path("shop/groups/<int:pk>/members/", api.ShopGroupMembersView.as_view(), name="api-shop-group-members"),
    path("shop/groups/<int:pk>/links/", api.ShopGroupLinksView.as_view(), name="api-shop-group-links"),
    re_path(
        r"^shop/members/(?P<pk>[0-9]+)/(?P<action>approve|reject|remove|ban|unban|set-role)/$",
        api.ShopMemberActionView.as_view(),
        name="api-shop-member-action",
    ),
    path("shop/links/<int:pk>/revoke/", api.ShopLinkRevokeView.as_view(), name="api-shop-link-revoke"),
    path("shop/series/", api.ShopSeriesListView.as_view(), name="api-shop-series"),
    path("shop/series/<int:pk>/", api.ShopSeriesDetailView.as_view(), name="api-shop-series-detail"),
]
