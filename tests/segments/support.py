"""Members with a history for the segment and broadcast tests: joined through a link, with paid orders written
as rows (their amounts are what the segment rules read), opt-outs, quiet hours, messages already sent and
after-sales cases."""

import itertools
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from groups.models import MemberActivity
from groups.services import join_via_link
from notifications.models import Category, Notification, NotificationSettings, NotificationState, Preference
from orders.models import AfterSalesCase, CaseState, Order, OrderLine, OrderState
from tests.factories import InviteLinkFactory, UserFactory

_numbers = itertools.count()


def joined(group, **fields):
    """A new member of the group (through one of its links)."""
    user = UserFactory(**fields)
    join_via_link(user=user, code=InviteLinkFactory(group=group).code)
    return user


def paid(member, group, amount, *, sku=None, at=None, state=OrderState.PAID, refunded=Decimal("0.00")):
    """A paid order of `amount` yuan (a row: the facts read paid − refunded in a paid state)."""
    n = next(_numbers)
    amount = Decimal(amount)
    order = Order.objects.create(
        shop=group.shop,
        group=group,
        member=member,
        number=f"S{n:012d}",
        state=state,
        subtotal=amount,
        total=amount,
        paid_amount=amount,
        refunded_amount=refunded,
        delivery="shipping",
        recipient_name="王芳",
        recipient_phone="13800138000",
        address="上海市徐汇区漕溪北路 1 号",
        idempotency_key=f"s{n}",
        request_fingerprint="segments",
        pay_deadline=timezone.now(),
        created_at=at or timezone.now(),
        paid_at=at or timezone.now(),
    )
    if sku is not None:
        OrderLine.objects.create(
            order=order,
            sku=sku,
            product=sku.product,
            product_name=sku.product.name,
            spec=sku.spec,
            unit_price=amount,
            quantity=1,
            line_total=amount,
        )
    return order


def opted_out(member, shop):
    Preference.objects.update_or_create(user=member, shop=shop, defaults={"marketing": False})


def no_quiet_hours(shop):
    """The shop sends at any hour: for tests that send through a page at the real time of day, which may fall in
    the default quiet hours (21:00–09:00) and would then hold every message back."""
    NotificationSettings.objects.update_or_create(shop=shop, defaults={"quiet_start": time(0), "quiet_end": time(0)})


def quiet_now(member, shop, at: datetime):
    """The member's own quiet hours cover `at` (an hour either side)."""
    local = timezone.localtime(at)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    Preference.objects.update_or_create(
        user=member, shop=shop, defaults={"quiet_start": time(start.hour), "quiet_end": time(end.hour)}
    )


def capped(member, shop, at: datetime):
    """A commercial message sent to the member an hour before `at` (the default daily cap is one)."""
    Notification.objects.create(
        shop=shop,
        user=member,
        category=Category.MARKETING,
        kind="test",
        key=f"seg-sent:{next(_numbers)}",
        title="本周新品",
        state=NotificationState.SENT,
        sent_at=at - timedelta(hours=1),
    )


def in_after_sales(member, group):
    order = paid(member, group, "10.00", state=OrderState.COMPLETED)
    AfterSalesCase.objects.create(order=order, shop=group.shop, member=member, reason="破损", state=CaseState.OPEN)


def active(member, group, at):
    MemberActivity.objects.create(group=group, user=member, kind="space", at=at)
