from django.urls import include, path

from . import payment_views

app_name = "orders"

urlpatterns = [
    path("pay/notify/<str:provider>/", payment_views.provider_notify, name="provider_notify"),
    path("pay/notify/<str:provider>/<int:account_id>/", payment_views.provider_notify, name="account_notify"),
    path("pay/wechat/<str:reference>/", payment_views.provider_pay, name="provider_pay"),
    path("pay/simulated/<str:reference>/", payment_views.simulated_cashier, name="simulated_cashier"),
    path("m/", include("orders.member_urls")),
]
