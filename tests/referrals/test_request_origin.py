"""Opens and joins made through the pages and the API carry the request's address and device, which the
fraud review's shared-device and shared-address flags read."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from referrals.models import EventKind, ReferralEvent
from tests.factories import InviteLinkFactory, UserFactory

pytestmark = pytest.mark.django_db
PHONE_BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) MicroMessenger/8.0", "REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def link(group):
    inviter = UserFactory()
    from groups.services import add_member

    add_member(group=group, user=inviter, by=None)
    return InviteLinkFactory(group=group, inviter=inviter, is_personal=True)


def test_an_open_and_a_join_through_the_pages_record_address_and_device(link):
    joiner = UserFactory()
    browser = Client(**PHONE_BROWSER)
    browser.force_login(joiner)

    browser.get(reverse("member:landing", args=[link.code]))
    browser.post(reverse("member:join", args=[link.code]))

    events = {event.kind: event for event in ReferralEvent.objects.filter(inviter=link.inviter)}
    assert set(events) >= {EventKind.LINK_OPENED, EventKind.JOINED}
    for kind in (EventKind.LINK_OPENED, EventKind.JOINED):
        assert events[kind].ip_address == "203.0.113.7"
        assert events[kind].device_id.startswith("ua:")
    assert events[EventKind.JOINED].device_id == events[EventKind.LINK_OPENED].device_id


def test_a_join_through_the_api_records_address_and_device(link):
    app = APIClient(**PHONE_BROWSER, HTTP_COOKIE="sq_device=app-install-42")
    app.force_authenticate(UserFactory())

    response = app.post(reverse("api-link-join", args=[link.code]), {}, format="json")

    assert response.status_code == 201
    joined = ReferralEvent.objects.get(inviter=link.inviter, kind=EventKind.JOINED)
    assert (joined.ip_address, joined.device_id) == ("203.0.113.7", "app-install-42")
