"""Don't spam: opt-outs per category, quiet hours, a frequency cap per member and shop,
no marketing during an open after-sales case. Transactional messages are never held back."""

from datetime import time, timedelta

import pytest

from accounts.sms import LocmemSmsBackend
from notifications import services
from notifications.models import Category, HoldReason, Notification, NotificationSettings, NotificationState
from orders.services import close_case, open_case
from tests.builders.notifications import at_local, noon, write
from tests.builders.orders import DjangoClientTransport, order_for, pay
from tests.factories import ShopFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db

NS = NotificationState


def deliver(at):
    return services.deliver_due(now=at)


def state_of(notification):
    notification.refresh_from_db()
    return notification.state


# --- Quiet hours -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at, start, end, until",
    [
        ((22, 0), (21, 0), (9, 0), (1, 9, 0)),  # evening: until tomorrow 09:00
        ((3, 30), (21, 0), (9, 0), (0, 9, 0)),  # small hours: until 09:00 the same day
        ((21, 0), (21, 0), (9, 0), (1, 9, 0)),  # the window starts at its start…
        ((9, 0), (21, 0), (9, 0), None),  # …and is over at its end
        ((12, 0), (21, 0), (9, 0), None),
        ((13, 30), (13, 0), (14, 0), (0, 14, 0)),  # a window within one day
        ((22, 0), (0, 0), (0, 0), None),  # start == end: no quiet hours
    ],
)
def test_quiet_window(at, start, end, until):
    moment = at_local(*at)
    expected = None if until is None else at_local(until[1], until[2], days=1 + until[0])
    assert services.quiet_until(moment, time(*start), time(*end)) == expected


def test_marketing_in_quiet_hours_waits_until_the_window_ends(shop, customer):
    notification = write(shop, customer, Category.MARKETING)

    report = deliver(at_local(22))

    notification.refresh_from_db()
    assert report.held == 1 and notification.state == NS.PENDING
    assert notification.reason == HoldReason.QUIET_HOURS and notification.deliver_after == at_local(9, days=2)
    assert not notification.deliveries.exists()
    assert deliver(at_local(8, 59, days=2)).released == 0  # still quiet

    assert deliver(at_local(9, days=2)).released == 1
    assert state_of(notification) == NS.SENT


def test_reminders_wait_too_but_transactional_messages_never_do(shop, customer):
    reminder = write(shop, customer, Category.REMINDER)
    paid = write(shop, customer, Category.TRANSACTIONAL)

    deliver(at_local(23))

    assert state_of(reminder) == NS.PENDING and state_of(paid) == NS.SENT
    assert len(LocmemSmsBackend.outbox) == 1


def test_a_member_sets_their_own_quiet_hours_or_none(shop, customer):
    services.update_preferences(
        user=customer,
        shop=shop,
        marketing=True,
        reminder=True,
        campaign=True,
        quiet_start=time(12, 0),
        quiet_end=time(14, 0),
    )
    lunch = write(shop, customer)
    deliver(noon())
    assert state_of(lunch) == NS.PENDING

    services.update_preferences(
        user=customer,
        shop=shop,
        marketing=True,
        reminder=True,
        campaign=True,
        quiet_start=time(0, 0),
        quiet_end=time(0, 0),
    )
    night = write(shop, customer)
    deliver(at_local(23))
    assert state_of(night) == NS.SENT


def test_the_shop_sets_the_default_quiet_hours(shop, customer):
    services.update_settings(
        shop=shop, by=shop_owner(shop), daily_cap=1, weekly_cap=3, quiet_start=time(11, 0), quiet_end=time(13, 0)
    )
    notification = write(shop, customer)

    deliver(noon())

    notification.refresh_from_db()
    assert notification.state == NS.PENDING and notification.deliver_after == at_local(13)


# --- Frequency cap ---------------------------------------------------------------------------------


def test_one_commercial_message_a_day_the_next_is_dropped_as_capped(shop, customer):
    first, second = write(shop, customer, Category.MARKETING), write(shop, customer, Category.REMINDER)

    report = deliver(noon())

    assert (state_of(first), state_of(second)) == (NS.SENT, NS.CAPPED)
    second.refresh_from_db()
    assert second.reason == HoldReason.CAPPED and not second.deliveries.exists()
    assert report.released == 1 and report.capped == 1


def test_the_next_day_another_may_go_but_never_more_than_three_a_week(shop, customer):
    sent = []
    for day in range(1, 6):
        notification = write(shop, customer, Category.CAMPAIGN)
        deliver(at_local(12, days=day))
        sent.append(state_of(notification))

    assert sent == [NS.SENT, NS.SENT, NS.SENT, NS.CAPPED, NS.CAPPED]
    notification = write(shop, customer, Category.CAMPAIGN)
    deliver(at_local(12, days=8))  # the first left the 7-day window
    assert state_of(notification) == NS.SENT


def test_the_cap_is_per_shop_and_transactional_messages_do_not_count(shop, customer):
    other = ShopFactory()
    for _ in range(3):
        write(shop, customer, Category.TRANSACTIONAL)
    ours, theirs = write(shop, customer), write(other, customer)

    deliver(noon())

    assert (state_of(ours), state_of(theirs)) == (NS.SENT, NS.SENT)
    assert Notification.objects.filter(category=Category.TRANSACTIONAL, state=NS.SENT).count() == 3


def test_transactional_messages_are_never_capped(shop, customer):
    write(shop, customer, Category.MARKETING)
    deliver(noon())
    paid = [write(shop, customer, Category.TRANSACTIONAL) for _ in range(5)]

    deliver(noon())

    assert [state_of(n) for n in paid] == [NS.SENT] * 5


def test_the_shop_configures_the_cap(shop, customer):
    services.update_settings(
        shop=shop, by=shop_owner(shop), daily_cap=2, weekly_cap=5, quiet_start=time(21), quiet_end=time(9)
    )
    notifications = [write(shop, customer) for _ in range(3)]

    deliver(noon())

    assert [state_of(n) for n in notifications] == [NS.SENT, NS.SENT, NS.CAPPED]


@pytest.mark.parametrize(
    "daily, weekly, field",
    [(0, 3, "daily_cap"), (11, 20, "daily_cap"), (3, 2, "weekly_cap"), (1, 31, "weekly_cap")],
)
def test_cap_settings_are_validated(shop, daily, weekly, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.update_settings(
            shop=shop, by=shop_owner(shop), daily_cap=daily, weekly_cap=weekly, quiet_start=time(21), quiet_end=time(9)
        )
    assert field in refused.value.message_dict
    assert not NotificationSettings.objects.exists()


# --- Opt-outs and after-sales ---------------------------------------------------------------------


def test_a_member_who_opted_out_of_a_category_does_not_get_it(shop, customer):
    services.update_preferences(
        user=customer, shop=shop, marketing=False, reminder=True, campaign=True, quiet_start=None, quiet_end=None
    )
    promo, reminder = write(shop, customer, Category.MARKETING), write(shop, customer, Category.REMINDER)

    deliver(noon())

    promo.refresh_from_db()
    assert promo.state == NS.SUPPRESSED and promo.reason == HoldReason.OPTED_OUT
    assert state_of(reminder) == NS.SENT  # another category, still wanted


def test_opting_out_after_the_message_was_written_still_stops_it(shop, customer):
    promo = write(shop, customer, Category.CAMPAIGN)
    services.update_preferences(
        user=customer, shop=shop, marketing=True, reminder=True, campaign=False, quiet_start=None, quiet_end=None
    )

    deliver(noon())

    assert state_of(promo) == NS.SUPPRESSED


def test_transactional_messages_cannot_be_opted_out(shop, customer):
    services.update_preferences(
        user=customer, shop=shop, marketing=False, reminder=False, campaign=False, quiet_start=None, quiet_end=None
    )
    paid = write(shop, customer, Category.TRANSACTIONAL)

    deliver(noon())

    assert state_of(paid) == NS.SENT


def test_no_commercial_message_during_an_open_after_sales_case(shop, group, customer, client):
    from tests.factories import SkuFactory

    order = order_for(customer, group, SkuFactory(product__shop=shop))
    pay(order, DjangoClientTransport(client))
    case = open_case(order=order, member=customer, reason="收到的小米受潮了")
    promo, reminder = write(shop, customer, Category.MARKETING), write(shop, customer, Category.REMINDER)

    deliver(noon())

    promo.refresh_from_db()
    assert promo.state == NS.SUPPRESSED and promo.reason == HoldReason.AFTER_SALES
    assert state_of(reminder) == NS.SUPPRESSED
    assert Notification.objects.get(kind="order_paid").state == NS.SENT  # transactional still goes

    close_case(case=case, by=UserFactory(), resolution="已补发")
    later = write(shop, customer)
    deliver(noon())
    assert state_of(later) == NS.SENT


# --- may_market and preferences_for, for the callers (reminders, campaigns) -------------------------


def test_may_market_says_what_the_send_time_check_will_decide(shop, customer):
    at = noon()
    assert services.may_market(customer, shop, at) is True

    write(shop, customer)
    deliver(at)
    assert services.may_market(customer, shop, at + timedelta(hours=1)) is False  # capped today
    assert services.may_market(customer, shop, at + timedelta(days=1, minutes=1)) is True

    services.update_preferences(
        user=customer, shop=shop, marketing=False, reminder=True, campaign=True, quiet_start=None, quiet_end=None
    )
    assert services.may_market(customer, shop, at + timedelta(days=2)) is False
    assert services.may_market(customer, shop, at + timedelta(days=2), category=Category.REMINDER) is True


def test_preferences_default_to_everything_on_and_the_shops_quiet_hours(shop, customer):
    preference = services.preferences_for(customer, shop)

    assert preference.pk is None  # reading does not write
    assert (preference.marketing, preference.reminder, preference.campaign) == (True, True, True)
    assert services.quiet_hours(preference, services.settings_for(shop)) == (time(21, 0), time(9, 0))
    assert services.settings_for(shop).daily_cap == 1 and services.settings_for(shop).weekly_cap == 3


def test_quiet_hours_are_both_times_or_neither(shop, customer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.update_preferences(
            user=customer,
            shop=shop,
            marketing=True,
            reminder=True,
            campaign=True,
            quiet_start=time(22, 0),
            quiet_end=None,
        )
