"""Helpers shared by the operator dashboard tests of the catalog, orders and after-sales."""

import io
import os

from django.test import Client
from django.urls import URLPattern, reverse
from PIL import Image

from orders import dashboard_urls
from orders.models import (
    AfterSalesCase,
    FulfilmentItem,
    Order,
    OrderTransition,
    PickupPoint,
    Product,
    ProductImage,
    Refund,
    Sku,
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def png(size=(64, 48), noise=False) -> bytes:
    if noise:  # incompressible pixels make a big file from a modest image
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 120, 60))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def dashboard_patterns() -> list[URLPattern]:
    """Every URL of the orders dashboard, read from its urls module: a new page is tested without listing it."""
    return [p for p in dashboard_urls.urlpatterns if isinstance(p, URLPattern)]


def url_of(pattern: URLPattern, pk: int | None = None) -> str:
    return reverse(f"dashboard:{pattern.name}", kwargs={"pk": pk} if "pk" in pattern.pattern.converters else {})


def takes_pk(pattern: URLPattern) -> bool:
    return "pk" in pattern.pattern.converters


def snapshot() -> dict:
    """Everything an action on these pages could write, to compare before and after a refused request."""
    return {
        "products": list(Product.objects.order_by("pk").values_list("pk", "name", "is_active", "usage_cycle_days")),
        "images": ProductImage.objects.count(),
        "skus": list(Sku.objects.order_by("pk").values_list("pk", "spec", "price", "stock", "is_active")),
        "points": list(PickupPoint.objects.order_by("pk").values_list("pk", "name", "address", "is_active")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "state", "tracking_number", "refunded_amount")),
        "transitions": OrderTransition.objects.count(),
        "refunds": Refund.objects.count(),
        "cases": list(AfterSalesCase.objects.order_by("pk").values_list("pk", "state", "resolution")),
        "owed": list(FulfilmentItem.objects.order_by("pk").values_list("pk", "state", "handed_over_by")),
    }


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]
