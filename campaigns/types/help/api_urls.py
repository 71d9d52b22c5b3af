"""The 帮 助力 member API, included by campaigns/api_urls.py at /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/campaigns/<int:pk>/help-tasks/", api.MyHelpTasksView.as_view(), name="api-my-help-tasks"),
    path("me/help-tasks/<int:pk>/", api.HelpTaskView.as_view(), name="api-help-task"),
    path("me/help-tasks/<int:pk>/help/", api.HelpTaskHelpView.as_view(), name="api-help-task-help"),
    path("me/help-tasks/<int:pk>/claim/", api.HelpTaskClaimView.as_view(), name="api-help-task-claim"),
]
