"""URLs of the group space: members' pages (under /m/groups/<pk>/space/, namespace "member") and the
dashboard's (namespace "dashboard")."""

from django.urls import path

from . import space_dashboard_views as dashboard
from . import space_views as views

member_urlpatterns = [
    path("", views.space_home, name="space"),
    path("new/", views.space_post_create, name="space_post_create"),
    path("posts/<int:post>/", views.space_post, name="space_post"),
    path("posts/<int:post>/reply/", views.space_reply, name="space_reply"),
    path("posts/<int:post>/answered/", views.space_answered, name="space_answered"),
    path("posts/<int:post>/hide/", views.space_hide, name="space_hide"),
    path("posts/<int:post>/replies/<int:comment>/hide/", views.space_comment_hide, name="space_comment_hide"),
    path("photos/<int:photo>/", views.space_photo, name="space_photo"),
    path("wechat-qr/", views.space_wechat_qr, name="space_wechat_qr"),
]

dashboard_urlpatterns = [
    path("groups/<int:pk>/space/", dashboard.group_space, name="group_space"),
    path("groups/<int:pk>/space/announce/", dashboard.group_space_announce, name="group_space_announce"),
    path("groups/<int:pk>/space/contact/", dashboard.group_space_contact, name="group_space_contact"),
    path("groups/<int:pk>/space/wechat-qr/", dashboard.group_space_qr, name="group_space_qr"),
    path("space/posts/<int:pk>/", dashboard.space_post, name="space_post"),
    path("space/posts/<int:pk>/reply/", dashboard.space_post_reply, name="space_post_reply"),
    path("space/posts/<int:pk>/answered/", dashboard.space_post_answered, name="space_post_answered"),
    path("space/posts/<int:pk>/hide/", dashboard.space_post_hide, name="space_post_hide"),
    path("space/posts/<int:pk>/restore/", dashboard.space_post_restore, name="space_post_restore"),
    path("space/replies/<int:pk>/hide/", dashboard.space_comment_hide, name="space_comment_hide"),
    path("space/replies/<int:pk>/restore/", dashboard.space_comment_restore, name="space_comment_restore"),
    path("space/photos/<int:pk>/", dashboard.space_photo, name="space_photo"),
    path("space/reply-times/", dashboard.reply_times, name="space_reply_times"),
    path("space/settings/", dashboard.space_settings, name="space_settings"),
]
