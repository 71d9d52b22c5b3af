"""The member's inbox on the phone: only their own messages, unread counts, opening marks read, and
the preferences page (opt-outs per category, quiet hours)."""

import re
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import services
from notifications.models import Category, NotificationState, Preference
from tests.builders.notifications import noon, write
from tests.factories import ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("notifications:inbox")


def html(response) -> str:
    return response.content.decode()


def received(shop, user, **fields):
    """A notification that was delivered (transactional: no quiet hours, no cap)."""
    notification = write(shop, user, Category.TRANSACTIONAL, **fields)
    services.release_due(now=noon())
    notification.refresh_from_db()
    return notification


def test_the_inbox_lists_my_messages_with_the_unread_count(customer_client, customer, shop):
    received(shop, customer, title="付款成功")
    received(shop, customer, title="商家已发货")
    stranger_note = received(shop, UserFactory(), title="别人的消息")

    page = customer_client.get(INBOX)

    assert page.status_code == 200
    body = html(page)
    assert "付款成功" in body and "商家已发货" in body and stranger_note.title not in body
    assert body.count('class="inbox-item is-unread"') == 2
    assert '<span class="unread-count">2</span>' in body
    assert 'title="未读消息">2</span>' in body  # the badge in the header, on every mobile page


def test_messages_not_sent_are_not_in_the_inbox(customer_client, customer, shop):
    held = write(shop, customer, title="深夜的推广")  # pending (not yet released)

    assert held.title not in html(customer_client.get(INBOX))
    assert customer_client.get(reverse("notifications:detail", args=[held.pk])).status_code == 404


def test_opening_a_message_marks_it_read(customer_client, customer, shop):
    notification = received(shop, customer, title="付款成功", body="订单已付款", url="/m/orders/")

    page = customer_client.get(reverse("notifications:detail", args=[notification.pk]))

    assert page.status_code == 200 and "订单已付款" in html(page) and 'href="/m/orders/"' in html(page)
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "unread-count" not in html(customer_client.get(INBOX))


def test_an_outside_link_is_not_offered(customer_client, customer, shop):
    notification = received(shop, customer, url="https://evil.example/phish")

    page = customer_client.get(reverse("notifications:detail", args=[notification.pk]))

    assert "evil.example" not in html(page)


def test_someone_elses_message_is_a_404_and_stays_unread(customer_client, shop):
    theirs = received(shop, UserFactory())

    assert customer_client.get(reverse("notifications:detail", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_unread_tab_and_mark_all_read(customer_client, customer, shop):
    first, second = received(shop, customer, title="第一条"), received(shop, customer, title="第二条")
    customer_client.get(reverse("notifications:detail", args=[first.pk]))

    unread = html(customer_client.get(INBOX, {"unread": "1"}))
    assert "第二条" in unread and "第一条" not in unread

    response = customer_client.post(reverse("notifications:read_all"))
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.read_at is not None


def test_the_inbox_runs_in_a_constant_number_of_queries(customer_client, customer, shop, django_assert_num_queries):
    received(shop, customer)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert customer_client.get(INBOX).status_code == 200
        return len(captured)

    one = count()
    for _ in range(8):
        received(ShopFactory(), customer)
    # the session, the user, the page's count, the page of messages with their shops, the unread badge
    with django_assert_num_queries(5):
        customer_client.get(INBOX)
    assert one == 5


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(INBOX)
    assert response.status_code == 302 and reverse("account_request_login_code") in response["Location"]


# --- Preferences -----------------------------------------------------------------------------------


def prefs_url(shop) -> str:
    return reverse("notifications:shop_preferences", args=[shop.pk])


def test_with_one_shop_the_settings_page_opens_it(customer_client, shop):
    response = customer_client.get(reverse("notifications:preferences"))
    assert response.status_code == 302 and response["Location"] == prefs_url(shop)


def test_a_member_opts_out_and_sets_quiet_hours(customer_client, customer, shop):
    page = customer_client.get(prefs_url(shop))
    assert page.status_code == 200 and "21:00–09:00" in html(page)

    response = customer_client.post(
        prefs_url(shop), {"reminder": "on", "quiet_mode": "custom", "quiet_start": "22:30", "quiet_end": "07:30"}
    )

    assert response.status_code == 302
    preference = Preference.objects.get(user=customer, shop=shop)
    assert (preference.marketing, preference.reminder, preference.campaign) == (False, True, False)
    assert (preference.quiet_start, preference.quiet_end) == (time(22, 30), time(7, 30))


def test_no_quiet_hours_and_back_to_the_shop_default(customer_client, customer, shop):
    customer_client.post(prefs_url(shop), {"marketing": "on", "quiet_mode": "off"})
    preference = Preference.objects.get(user=customer, shop=shop)
    assert preference.quiet_start == preference.quiet_end  # no window

    customer_client.post(prefs_url(shop), {"marketing": "on", "quiet_mode": "default"})
    preference.refresh_from_db()
    assert preference.quiet_start is None and preference.quiet_end is None


@pytest.mark.parametrize(
    "data, message",
    [
        ({"quiet_mode": "custom", "quiet_start": "22:00"}, "请填写免打扰的开始和结束时间"),
        ({"quiet_mode": "custom", "quiet_start": "22:00", "quiet_end": "22:00"}, "结束时间不能与开始时间相同"),
        ({"quiet_mode": "custom", "quiet_start": "25:99", "quiet_end": "08:00"}, "输入一个有效的时间"),
        ({"quiet_mode": "sometimes"}, "选择一个有效的选项"),
    ],
)
def test_bad_preferences_are_shown_on_the_form(customer_client, customer, shop, data, message):
    response = customer_client.post(prefs_url(shop), data)

    assert response.status_code == 200 and message in html(response)
    assert not Preference.objects.filter(user=customer).exists()


def test_a_shop_the_member_has_nothing_to_do_with_is_a_404(customer_client, other_shop):
    assert customer_client.get(prefs_url(other_shop)).status_code == 404
    assert customer_client.post(prefs_url(other_shop), {"quiet_mode": "off"}).status_code == 404
    assert not Preference.objects.exists()


def test_a_member_of_two_shops_chooses_the_shop(customer_client, customer, shop):
    other = ShopFactory(name="另一家店")
    received(other, customer)

    page = customer_client.get(reverse("notifications:preferences"))

    assert page.status_code == 200 and prefs_url(shop) in html(page) and prefs_url(other) in html(page)


def test_transactional_messages_stay_on_whatever_the_member_chooses(customer_client, customer, shop):
    customer_client.post(prefs_url(shop), {"quiet_mode": "default"})  # everything unticked
    paid = received(shop, customer)
    assert paid.state == NotificationState.SENT


def test_an_absolute_link_to_this_site_is_offered(customer_client, customer, shop):
    notification = received(shop, customer, url="http://testserver/m/orders/")

    page = customer_client.get(reverse("notifications:detail", args=[notification.pk]))

    assert 'href="http://testserver/m/orders/"' in html(page)


def test_titles_in_the_catalog_follow_the_readers_language_and_stored_text_is_escaped(customer_client, customer, shop):
    from django.conf import settings

    received(shop, customer, title="付款成功")
    received(shop, customer, title="<script>alert(1)</script>")
    customer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = html(customer_client.get(INBOX))

    assert "付款成功" not in page  # written in the site's language when the payment came in, read in English
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def badge(client) -> str:
    found = re.search(r'title="未读消息">(\d+)</span>', html(client.get(reverse("orders:my_orders"))))
    return found.group(1) if found else "none"


def test_the_badge_is_counted_once_and_stays_exact_after_receiving_and_reading(customer_client, customer, shop):
    first = received(shop, customer, title="第一条")
    assert badge(customer_client) == "1"
    with CaptureQueriesContext(connection) as again:
        assert badge(customer_client) == "1"
    assert not [q for q in again if '"notifications_notification"' in q["sql"]]  # the badge came from the cache

    second = received(shop, customer, title="第二条")
    assert badge(customer_client) == "2"
    customer_client.get(reverse("notifications:detail", args=[first.pk]))
    assert badge(customer_client) == "1"
    received(shop, UserFactory(), title="别人的消息")
    assert badge(customer_client) == "1"
    customer_client.post(reverse("notifications:read_all"))
    assert badge(customer_client) == "none"
    second.refresh_from_db()
    assert second.read_at is not None
