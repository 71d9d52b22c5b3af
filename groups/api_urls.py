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

# The group space (群空间): groups/space_api.py.
from . import space_api  # noqa: E402

urlpatterns += [
    path("me/groups/<int:pk>/space/posts/", space_api.MySpacePostsView.as_view(), name="api-my-space-posts"),
    path("me/groups/<int:pk>/space/posts/<int:post>/", space_api.MySpacePostView.as_view(), name="api-my-space-post"),
    path(
        "me/groups/<int:pk>/space/posts/<int:post>/replies/",
        space_api.MySpaceReplyView.as_view(),
        name="api-my-space-reply",
    ),
    path(
        "me/groups/<int:pk>/space/posts/<int:post>/answered/",
        space_api.MySpaceAnsweredView.as_view(),
        name="api-my-space-answered",
    ),
    path(
        "me/groups/<int:pk>/space/posts/<int:post>/hide/", space_api.MySpaceHideView.as_view(), name="api-my-space-hide"
    ),
    path("me/groups/<int:pk>/space/contact/", space_api.MySpaceContactView.as_view(), name="api-my-space-contact"),
    path(
        "me/groups/<int:pk>/space/posts/<int:post>/replies/<int:comment>/hide/",
        space_api.MySpaceCommentHideView.as_view(),
        name="api-my-space-comment-hide",
    ),
    path(
        "shop/space/replies/<int:pk>/hide/",
        space_api.ShopSpaceCommentHideView.as_view(),
        name="api-shop-space-comment-hide",
    ),
    path(
        "shop/space/replies/<int:pk>/restore/",
        space_api.ShopSpaceCommentRestoreView.as_view(),
        name="api-shop-space-comment-restore",
    ),
    path("shop/groups/<int:pk>/space/posts/", space_api.ShopSpacePostsView.as_view(), name="api-shop-space-posts"),
    path("shop/space/posts/<int:pk>/replies/", space_api.ShopSpaceReplyView.as_view(), name="api-shop-space-reply"),
    path(
        "shop/space/posts/<int:pk>/answered/",
        space_api.ShopSpaceAnsweredView.as_view(),
        name="api-shop-space-answered",
    ),
    path("shop/space/posts/<int:pk>/hide/", space_api.ShopSpaceHideView.as_view(), name="api-shop-space-hide"),
    path("shop/space/posts/<int:pk>/restore/", space_api.ShopSpaceRestoreView.as_view(), name="api-shop-space-restore"),
    path(
        "shop/space/reply-times/groups/",
        space_api.ShopReplyTimesByGroupView.as_view(),
        name="api-shop-space-reply-times-groups",
    ),
    path(
        "shop/space/reply-times/responders/",
        space_api.ShopReplyTimesByResponderView.as_view(),
        name="api-shop-space-reply-times-responders",
    ),
]

# The complaints and suggestions box (投诉与建议): groups/feedback_api.py.
from . import feedback_api  # noqa: E402

urlpatterns += [
    path("me/groups/<int:pk>/feedback/", feedback_api.MyGroupFeedbackView.as_view(), name="api-my-group-feedback"),
    path("me/feedback/", feedback_api.MyFeedbackListView.as_view(), name="api-my-feedback"),
    path("me/feedback/<int:pk>/", feedback_api.MyFeedbackView.as_view(), name="api-my-feedback-item"),
    path("shop/feedback/", feedback_api.ShopFeedbackListView.as_view(), name="api-shop-feedback"),
    path("shop/feedback/<int:pk>/", feedback_api.ShopFeedbackView.as_view(), name="api-shop-feedback-item"),
    path("shop/feedback/<int:pk>/route/", feedback_api.ShopFeedbackRouteView.as_view(), name="api-shop-feedback-route"),
    path(
        "shop/feedback/<int:pk>/answer/", feedback_api.ShopFeedbackAnswerView.as_view(), name="api-shop-feedback-answer"
    ),
    path("shop/feedback/<int:pk>/close/", feedback_api.ShopFeedbackCloseView.as_view(), name="api-shop-feedback-close"),
    path(
        "shop/feedback-departments/",
        feedback_api.ShopFeedbackDepartmentsView.as_view(),
        name="api-shop-feedback-departments",
    ),
]

# A group's 群主/管理员 and 群规 appeals (groups/steward_api.py).
from . import steward_api  # noqa: E402

urlpatterns += [
    re_path(
        r"^me/groups/(?P<pk>[0-9]+)/manage/applicants/(?P<membership_pk>[0-9]+)/(?P<action>approve|reject)/$",
        steward_api.StewardApplicantView.as_view(),
        name="api-steward-applicant",
    ),
    path(
        "me/groups/<int:pk>/manage/members/<int:membership_pk>/warn/",
        steward_api.StewardWarnView.as_view(),
        name="api-steward-warn",
    ),
    path(
        "me/groups/<int:pk>/manage/members/<int:membership_pk>/remove/",
        steward_api.StewardRemoveView.as_view(),
        name="api-steward-remove",
    ),
    path("me/warnings/<int:pk>/appeal/", steward_api.MyWarningAppealView.as_view(), name="api-my-warning-appeal"),
    path("shop/appeals/<int:pk>/decide/", steward_api.ShopAppealDecideView.as_view(), name="api-shop-appeal-decide"),
]
