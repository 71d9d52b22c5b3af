"""The demo shop's catalog and order history, written through the order services (seed_demo calls it).

Orders go the whole way a real one does: placed with an idempotency key, paid through the simulated
provider (its signed notification is parsed and applied in this process instead of over HTTP, since
the server may not be running yet), shipped, completed, cancelled or refunded. Only the timestamps
are moved back afterwards, so the dashboard shows a month of history.
"""

import io
import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts.models import User
from groups.models import Group, Membership, MembershipStatus
from shops.models import Shop

from .catalog import add_product_image, save_pickup_point, save_product, save_sku
from .models import AfterSalesCase, Order, OrderTransition, Payment, Refund, RepurchaseReminder, SimulatedCharge
from .payments import get_provider
from .payments.simulated import deliver_due, settle
from .reminders import CONVERSION_WINDOW
from .services import (
    DeliveryRequest,
    LineRequest,
    cancel_order,
    complete_order,
    open_case,
    place_order,
    process_notification,
    request_refund,
    ship_order,
    start_payment,
)

# name, category, usage cycle (days), description, colour, [(spec, price, stock, per-member limit)]
CATALOG = (
    (
        "有机小米粥米",
        "辅食",
        30,
        "东北五常有机小米，宝宝第一口米粥。真空小包装，一次一包。",
        "#f4c95d",
        [("500g", "29.90", 200, None), ("1kg×2", "99.00", 80, 3)],
    ),
    (
        "高铁米粉（原味）",
        "辅食",
        20,
        "6 月龄以上宝宝适用，强化铁锌钙，冲调细腻不结块。",
        "#f7a072",
        [("250g", "58.00", 150, None), ("250g×3", "159.00", 60, 2)],
    ),
    ("冻干草莓块", "零食", 15, "整颗草莓低温冻干，入口即化，无添加糖。", "#e76f51", [("30g", "25.80", 300, None)]),
    (
        "婴儿洗衣液",
        "日用",
        45,
        "植物配方，低泡易漂，宝宝贴身衣物专用。",
        "#90be6d",
        [("1L", "39.90", 120, None), ("1L×3 囤货装", "99.00", 40, None)],
    ),
    (
        "乳木果润肤霜",
        "护肤",
        60,
        "秋冬换季干痒，一抹就润。宝妈和宝宝都能用。",
        "#c9ada7",
        [("100ml", "69.00", 90, None)],
    ),
    ("即食燕窝（体验装）", "滋补", 7, "每日一瓶，7 天体验装。仅限体验官群。", "#b5838d", [("7 瓶装", "199.00", 30, 1)]),
)

PICKUP_POINTS = (
    ("徐汇 · 漕溪北路店", "上海市徐汇区漕溪北路 88 号一楼", "每天 9:00–21:00"),
    ("浦东 · 世纪公园自提柜", "上海市浦东新区锦绣路 1001 号南门", "24 小时"),
)

ADDRESSES = (
    "上海市闵行区七莘路 1839 弄 12 号 501",
    "上海市长宁区天山路 600 弄 3 号 1102",
    "江苏省苏州市工业园区星湖街 328 号 8 栋",
    "浙江省杭州市西湖区文三路 90 号 6 幢 402",
)


def _product_image(name: str, colour: str, font_path: str | None) -> SimpleUploadedFile:
    image = Image.new("RGB", (640, 640), colour)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 60, 580, 580), radius=48, fill="#fffaf0")
    font = ImageFont.truetype(font_path, 56) if font_path else ImageFont.load_default()
    lines = [name[i : i + 6] for i in range(0, len(name), 6)]
    top = 320 - 40 * len(lines)
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((640 - width) / 2, top), line, fill="#3d405b", font=font)
        top += 80
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile(f"{uuid.uuid4().hex[:8]}.png", buffer.getvalue(), content_type="image/png")


def _deliver_in_process(_url: str, body: str, headers: dict) -> int:
    """What the provider's HTTP POST to /pay/notify/simulated/ would do, without the HTTP."""
    notification = get_provider("simulated").parse_notification(body=body.encode(), headers=headers)
    process_notification(notification)
    return 200


def pay_in_process(order: Order) -> None:
    """The member pays on the simulated cashier and its notification is applied, all in this process."""
    payment, _cashier_url = start_payment(order=order)
    settle(SimulatedCharge.objects.get(reference=payment.provider_ref), succeeded=True)
    deliver_due(post=_deliver_in_process)
    order.refresh_from_db()


class DemoOrders:
    def __init__(self, *, shop: Shop, staff: User, rng: random.Random, start: datetime, now: datetime):
        self.shop, self.staff, self.rng, self.start, self.now = shop, staff, rng, start, now
        self.placed_at: dict[int, datetime] = {}

    def build(self, *, font_path: str | None, orders: int = 60) -> None:
        skus = self._catalog(font_path)
        points = [
            save_pickup_point(shop=self.shop, by=self.staff, name=name, address=address, opening_hours=hours)
            for name, address, hours in PICKUP_POINTS
        ]
        buyers = list(
            Membership.objects.filter(group__shop=self.shop, status=MembershipStatus.ACTIVE, user__phone__isnull=False)
            .select_related("user", "group")
            .order_by("pk")
        )
        for membership in self.rng.sample(buyers, min(orders, len(buyers))):
            self._order(membership.user, membership.group, skus, points, since=membership.joined_at)
        comebacks = self._come_back(skus, points)
        self._write_back_times()
        self._remind(comebacks)

    def _catalog(self, font_path):
        skus = []
        trial_group = Group.objects.filter(shop=self.shop, name__contains="体验群").first()
        for name, category, cycle, description, colour, specs in CATALOG:
            only_trial = name.startswith("即食燕窝") and trial_group is not None
            product = save_product(
                shop=self.shop,
                by=self.staff,
                name=name,
                category=category,
                usage_cycle_days=cycle,
                description=description,
                offered_to_all_groups=not only_trial,
                groups=[trial_group] if only_trial else [],
            )
            add_product_image(product=product, by=self.staff, upload=_product_image(name, colour, font_path))
            for spec, price, stock, limit in specs:
                sku = save_sku(
                    product=product, by=self.staff, spec=spec, price=Decimal(price), stock=stock, per_member_limit=limit
                )
                if not only_trial:
                    skus.append(sku)
        return skus

    def _order(
        self, member: User, group: Group, skus, points, *, since: datetime, at: datetime | None = None
    ) -> Order | None:
        """One order through the services; `at` fixes when it was placed (a come-back), which is then always
        paid and mostly received, else it lands anywhere after `since` in any state."""
        picked = self.rng.sample(skus, self.rng.choice((1, 1, 1, 2))) if at is None else skus
        lines = [LineRequest(sku.pk, 1 if sku.per_member_limit else self.rng.choice((1, 1, 2))) for sku in picked]
        if self.rng.random() < 0.4:
            delivery = DeliveryRequest(method="pickup", pickup_point_id=self.rng.choice(points).pk)
        else:
            delivery = DeliveryRequest(
                method="shipping",
                recipient_name=member.public_name[:30],
                recipient_phone=member.phone.removeprefix("+86"),
                address=self.rng.choice(ADDRESSES),
            )
        order = place_order(
            member=member, group=group, lines=lines, delivery=delivery, idempotency_key=uuid.uuid4().hex
        )
        since = max(self.start, since)  # a member orders in a group after joining it
        self.placed_at[order.pk] = at or since + (self.now - since) * self.rng.uniform(0.2, 0.97)
        fate = self.rng.random() if at is None else self.rng.uniform(0.3, 0.92)
        if fate < 0.08:
            self.placed_at[order.pk] = self.now - timedelta(minutes=self.rng.randint(2, 20))  # still to pay
            return order
        if fate < 0.15:
            cancel_order(order=order, by=member, reason="不想要了")
            return order
        self._pay(order)
        if fate < 0.30:
            return order  # paid, waiting to be shipped
        ship_order(order=order, by=self.staff, tracking_number=f"SF{self.rng.randint(10**11, 10**12 - 1)}")
        if fate < 0.45:
            return order
        complete_order(order=order, by=member)
        if fate > 0.95:
            request_refund(order=order, by=member, reason="包装破损，申请退款")
        elif fate > 0.92:
            open_case(order=order, member=member, reason="收到的米粉罐子有凹陷，想换一罐。")
        return order

    def _come_back(self, skus, points) -> list[tuple[Order, object, Order | None]]:
        """Buyers come back for a product about one usage cycle after buying it (社群营销赚的是复购的钱): some
        twice for short cycles, some never; a paid group's entry (a trial) is followed by a first real buy.
        Returns (earlier order, product, the come-back or None) for every purchase of a catalog product whose
        cycle ran out before now: what the repeat-purchase reminders were sent for."""
        found = []
        paid = (
            Order.objects.filter(shop=self.shop, paid_at__isnull=False)
            .select_related("member", "group")
            .prefetch_related("lines__sku__product")
            .order_by("pk")
        )
        # When each was placed in the story: this builder's orders by its plan, earlier ones (paid entries, no
        # catalog lines) already moved back.
        todo = [
            (order, sku, self.placed_at.get(order.pk, order.paid_at))
            for order in paid
            for sku in ([line.sku for line in order.lines.all() if line.sku in skus] or [None])
        ]
        regular = [sku for sku in skus if not sku.per_member_limit]
        while todo:
            order, sku, placed = todo.pop(0)
            cycle = timedelta(days=sku.product.usage_cycle_days or 30) if sku else timedelta(days=10)
            again = placed + cycle * self.rng.uniform(0.7, 1.2)
            trial, sku = sku is None, sku or self.rng.choice(regular)
            if sku.per_member_limit:  # a limited offer (a campaign's too) is not bought again: its plain size is
                sku = next((s for s in regular if s.product_id == sku.product_id), None)
                if sku is None:
                    continue
            if again > self.now - timedelta(hours=2):
                continue
            comeback = None
            if self.rng.random() < 0.6:
                # In the group they bought in, else another of theirs (a trial group closes after its week).
                groups = sorted(
                    Group.objects.filter(
                        shop=self.shop, memberships__user=order.member, memberships__status=MembershipStatus.ACTIVE
                    ),
                    key=lambda g: (g.pk != order.group_id, g.pk),
                )
                for group in groups:
                    try:
                        with transaction.atomic():
                            comeback = self._order(order.member, group, [sku], points, since=again, at=again)
                        break
                    except ValidationError:  # the group no longer sells, or the SKU's per-member limit
                        comeback = None
                if comeback is not None and comeback.paid_at is not None:
                    todo.append((comeback, sku, again))
                else:
                    comeback = None
            if not trial:  # a reminder is for a product bought before
                found.append((order, sku.product, comeback))
        return found

    def _remind(self, comebacks) -> None:
        """The repeat-purchase reminders the shop had sent (kept as sent; nothing is sent now): to two in three
        of the purchases whose cycle ran out, a little before the come-back when there was one."""
        reminders = []
        for order, product, comeback in comebacks:
            if self.rng.random() >= 0.65:
                continue
            order.refresh_from_db(fields=["paid_at"])
            due = order.paid_at + timedelta(days=product.usage_cycle_days or 30)
            if comeback is not None:
                comeback.refresh_from_db(fields=["paid_at"])
                sent = max(comeback.paid_at - timedelta(days=self.rng.uniform(0.2, 5)), order.paid_at)
            else:
                sent = due - timedelta(days=self.rng.uniform(0, 2))
            if sent >= self.now:
                continue
            converted = comeback is not None and comeback.paid_at - sent <= CONVERSION_WINDOW
            reminders.append(
                RepurchaseReminder(
                    shop=self.shop,
                    member_id=order.member_id,
                    product=product,
                    cycle=order.pk,
                    due_at=due,
                    sent_at=sent,
                    converted_order=comeback if converted else None,
                    converted_at=comeback.paid_at if converted else None,
                )
            )
        RepurchaseReminder.objects.bulk_create(reminders, ignore_conflicts=True)

    def _pay(self, order: Order) -> None:
        pay_in_process(order)

    def _write_back_times(self) -> None:
        """Spread the history over the story: each order's steps follow its placing time."""
        for order_id, placed in self.placed_at.items():
            steps = list(OrderTransition.objects.filter(order_id=order_id).order_by("pk"))
            at = placed
            for step in steps:
                OrderTransition.objects.filter(pk=step.pk).update(at=min(at, self.now))
                at += timedelta(hours=self.rng.uniform(0.05, 30))
            paid = next((s for s in steps if s.to_state == "paid"), None)
            Order.objects.filter(pk=order_id).update(
                created_at=placed,
                pay_deadline=placed + timedelta(minutes=self.shop.settings.payment_timeout_minutes),
                **({"paid_at": OrderTransition.objects.get(pk=paid.pk).at} if paid else {}),
            )


def seed_orders(*, shop: Shop, staff: User, rng: random.Random, start: datetime, font_path: str | None) -> None:
    """Products, pickup points and about sixty orders in every state; refund requests are left for the
    operator to decide in the dashboard."""
    with transaction.atomic():
        DemoOrders(shop=shop, staff=staff, rng=rng, start=start, now=timezone.now()).build(font_path=font_path)


def delete_orders(shop: Shop) -> None:
    """Orders, payments and cases protect themselves from deletion; the demo reset removes them first."""
    orders = Order.objects.filter(shop=shop)
    AfterSalesCase.objects.filter(order__in=orders).delete()
    Refund.objects.filter(order__in=orders).delete()
    Payment.objects.filter(order__in=orders).delete()
    orders.delete()
