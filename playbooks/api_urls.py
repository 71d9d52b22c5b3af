from django.urls import path

from . import api

urlpatterns = [
    path("shop/playbooks/", api.ShopPlaybooksView.as_view(), name="api-shop-playbooks"),
    path("shop/playbooks/today/", api.ShopTodayStepsView.as_view(), name="api-shop-playbook-today"),
    path("shop/groups/<int:pk>/playbook/", api.ShopGroupPlaybookView.as_view(), name="api-shop-group-playbook"),
    path("shop/playbooks/steps/<int:pk>/done/", api.ShopRunStepDoneView.as_view(), name="api-shop-run-step-done"),
    path("shop/playbooks/steps/<int:pk>/skip/", api.ShopRunStepSkipView.as_view(), name="api-shop-run-step-skip"),
    path(
        "shop/playbooks/steps/<int:pk>/reschedule/",
        api.ShopRunStepRescheduleView.as_view(),
        name="api-shop-run-step-reschedule",
    ),
]
