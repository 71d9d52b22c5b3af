"""Twenty identical order calls at once with one Idempotency-Key: one order, exactly one 201."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from groups import services as group_services
from orders import services
from orders.models import Order, Sku
from tests.factories import GroupFactory, ShopFactory, SkuFactory, UserFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]
RACERS = 20
BODY = {"delivery": "shipping", "recipient_name": "王芳", "recipient_phone": "13800138000", "address": "上海市 1 号"}


@pytest.fixture
def scene():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    member = UserFactory()
    group_services.add_member(group=group, user=member, by=None)
    return group, member, SkuFactory(product__shop=shop, price=Decimal("9.90"), stock=100)


@pytest.fixture
def lookups_done_first(monkeypatch):
    """Every call looks the key up (finding nothing) before any of them inserts: all twenty really race."""
    gate = Gate(RACERS)
    original = services._validate_request

    def validate_then_wait(**kwargs):
        original(**kwargs)
        gate.wait()

    monkeypatch.setattr(services, "_validate_request", validate_then_wait)


def _call(group, member, sku):
    client = APIClient()
    client.force_authenticate(member)
    return client.post(
        reverse("api-my-group-orders", args=[group.pk]),
        {**BODY, "lines": [{"sku": sku.pk, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="retry-me",
    )


def test_concurrent_retries_answer_201_exactly_once(scene, lookups_done_first):
    group, member, sku = scene

    responses = race(RACERS, lambda i: _call(group, member, sku))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (RACERS - 1) + [201], statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert Order.objects.count() == 1 and Sku.objects.get(pk=sku.pk).stock == 99


def test_sequential_retries_answer_201_then_200(scene):
    group, member, sku = scene
    assert [_call(group, member, sku).status_code for _ in range(3)] == [201, 200, 200]
