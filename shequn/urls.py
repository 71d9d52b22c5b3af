from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from accounts.admin_login import ratelimited_admin_login
from accounts.headless import PhoneCodeLoginView

from . import health, views

admin.site.login = ratelimited_admin_login(admin.site.login)
admin.site.site_header = "社群 Shequn"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # A first WeChat sign-in chooses: a new member, or bind to a phone account (in front of allauth's page).
    path("accounts/3rdparty/signup/", account_views.weixin_first_sign_in, name="weixin_first_sign_in"),
    path("accounts/weixin/bind/", account_views.weixin_bind, name="weixin_bind"),
    path("accounts/", include("allauth.urls")),
    path("m/me/", account_views.profile, name="profile"),
    *[
        path(f"_allauth/{client}/v1/auth/code/request", PhoneCodeLoginView.as_api_view(client=client))
        for client in settings.HEADLESS_CLIENTS
    ],
    path("_allauth/", include("allauth.headless.urls")),
    path("dashboard/", include("shequn.dashboard_urls")),
    path("platform/", include("referrals.platform_urls")),
    path("m/inbox/", include("notifications.member_urls")),
    path("m/c/", include("campaigns.member_urls")),
    path("m/leaderboard/", include("referrals.member_board_urls")),
    path("m/", include(("groups.member_urls", "member"))),
    path("", include("orders.urls")),
    path("api/v1/", include("shequn.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (shequn/csp.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("robots.txt", TemplateView.as_view(template_name="robots.txt", content_type="text/plain")),
]
# Uploaded images, as images only (views.media). Fine for one or a few web processes; a web server, CDN or
# object store can front it later with the same headers (README).
urlpatterns += [re_path(r"^media/(?P<path>.*)$", views.media, name="media")]
