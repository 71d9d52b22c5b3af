from django.urls import include, path

urlpatterns = [
    path("", include("groups.api_urls")),
]
