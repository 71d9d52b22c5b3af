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

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts.models import User
from groups.models import Group, Membership, MembershipStatus
from shops.models import Shop

from .catalog import add_product_image, save_pickup_point, save_product, save_sku
from .models import AfterSalesCase, Order, OrderTransition, Payment, Refund, SimulatedCharge
from .payments import get_provider
from .payments.simulated import deliver_due, settle
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
        self._write_back_times()

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

    def _order(self, member: User, group: Group, skus, points, *, since: datetime) -> None:
        picked = self.rng.sample(skus, self.rng.choice((1, 1, 1, 2)))
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
        self.placed_at[order.pk] = since + (self.now - since) * self.rng.uniform(0.2, 0.97)
        fate = self.rng.random()
        if fate < 0.08:
            self.placed_at[order.pk] = self.now - timedelta(minutes=self.rng.randint(2, 20))  # still to pay
            return
        if fate < 0.15:
            cancel_order(order=order, by=member, reason="不想要了")
            return
        self._pay(order)
        if fate < 0.30:
            return  # paid, waiting to be shipped
        ship_order(order=order, by=self.staff, tracking_number=f"SF{self.rng.randint(10**11, 10**12 - 1)}")
        if fate < 0.45:
            return
        complete_order(order=order, by=member)
        if fate > 0.95:
            request_refund(order=order, by=member, reason="包装破损，申请退款")
        elif fate > 0.92:
            open_case(order=order, member=member, reason="收到的米粉罐子有凹陷，想换一罐。")

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
