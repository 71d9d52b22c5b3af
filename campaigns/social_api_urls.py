"""The 帮 助力 and 砍 砍价 member API, mounted at /api/v1/ (shequn/api_urls.py)."""

from django.urls import path

from . import social_api as api

urlpatterns = [
    path("me/campaigns/<int:pk>/help-tasks/", api.MyHelpTasksView.as_view(), name="api-my-help-tasks"),
    path("me/help-tasks/<int:pk>/", api.HelpTaskView.as_view(), name="api-help-task"),
    path("me/help-tasks/<int:pk>/help/", api.HelpTaskHelpView.as_view(), name="api-help-task-help"),
    path("me/help-tasks/<int:pk>/claim/", api.HelpTaskClaimView.as_view(), name="api-help-task-claim"),
    path("me/campaigns/<int:pk>/bargains/", api.MyBargainsView.as_view(), name="api-my-bargains"),
    path("me/bargains/<int:pk>/", api.BargainView.as_view(), name="api-bargain"),
    path("me/bargains/<int:pk>/cut/", api.BargainCutView.as_view(), name="api-bargain-cut"),
    path("me/bargains/<int:pk>/buy/", api.BargainBuyView.as_view(), name="api-bargain-buy"),
]
