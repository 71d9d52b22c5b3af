"""The inbox and preferences API for member clients: own messages only (others' are a 404), unread
count, marking read, preferences per shop; errors in the project's shape."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Category, Preference
from tests.api.conftest import errors_of
from tests.builders.notifications import noon, write
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


def received(shop, user, **fields):
    notification = write(shop, user, Category.TRANSACTIONAL, **fields)
    services.release_due(now=noon())
    return notification


def test_my_inbox_lists_only_my_sent_messages(api, customer, shop):
    mine = received(shop, customer, title="付款成功")
    received(shop, UserFactory(), title="别人的")
    write(shop, customer, title="还没发出的推广")

    body = api.get(reverse("api-my-notifications")).json()

    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == mine.pk and item["title"] == "付款成功" and item["category"] == "transactional"
    assert item["shop"] == {"id": shop.pk, "name": shop.name} and item["is_read"] is False


def test_unread_count_mark_read_and_mark_all(api, customer, shop):
    first, second, third = (received(shop, customer) for _ in range(3))
    assert api.get(reverse("api-my-notifications-unread")).json() == {"unread": 3}

    response = api.post(reverse("api-my-notification-read", args=[first.pk]))
    assert response.status_code == 200 and response.json()["is_read"] is True
    read_at = response.json()["read_at"]
    assert api.post(reverse("api-my-notification-read", args=[first.pk])).json()["read_at"] == read_at  # idempotent

    unread = api.get(reverse("api-my-notifications"), {"unread": "true"}).json()
    assert {n["id"] for n in unread["results"]} == {second.pk, third.pk}

    assert api.post(reverse("api-my-notifications-read-all")).json() == {"marked": 2}
    assert api.get(reverse("api-my-notifications-unread")).json() == {"unread": 0}


def test_another_members_message_is_a_404(api, shop):
    theirs = received(shop, UserFactory())

    for response in (
        api.get(reverse("api-my-notification", args=[theirs.pk])),
        api.post(reverse("api-my-notification-read", args=[theirs.pk])),
    ):
        assert response.status_code == 404
        assert errors_of(response)[0]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_signed_out_clients_are_refused(shop):
    response = APIClient().get(reverse("api-my-notifications"))
    assert response.status_code in (401, 403) and errors_of(response)[0]["code"] == "not_authenticated"


def test_preferences_read_and_change(api, customer, shop):
    listing = api.get(reverse("api-my-preferences")).json()
    assert listing == [
        {
            "shop": {"id": shop.pk, "name": shop.name},
            "marketing": True,
            "reminder": True,
            "campaign": True,
            "quiet_start": None,
            "quiet_end": None,
            "shop_quiet_start": "21:00",
            "shop_quiet_end": "09:00",
        }
    ]

    url = reverse("api-my-shop-preferences", args=[shop.pk])
    response = api.patch(url, {"marketing": False, "quiet_start": "22:00", "quiet_end": "08:00"}, format="json")

    assert response.status_code == 200
    assert response.json()["marketing"] is False and response.json()["reminder"] is True
    assert (response.json()["quiet_start"], response.json()["quiet_end"]) == ("22:00", "08:00")
    assert Preference.objects.get(user=customer, shop=shop).marketing is False


@pytest.mark.parametrize(
    "data, field",
    [
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"marketing": "maybe"}, "marketing"),
        ({"quiet_start": "7pm", "quiet_end": "08:00"}, "quiet_start"),
    ],
)
def test_bad_preferences_are_refused_field_by_field(api, shop, data, field):
    response = api.patch(reverse("api-my-shop-preferences", args=[shop.pk]), data, format="json")

    assert response.status_code == 400 and errors_of(response)[0]["field"] == field
    assert not Preference.objects.exists()


def test_preferences_of_a_shop_i_do_not_belong_to_are_a_404(api, other_shop):
    url = reverse("api-my-shop-preferences", args=[other_shop.pk])
    assert api.get(url).status_code == 404
    assert api.patch(url, {"marketing": False}, format="json").status_code == 404
    assert not Preference.objects.exists()
