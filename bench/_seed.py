"""The web scenarios' starting data, made with the product's models and services (not the tests' factories:
scripts/bench installs only requirements.txt). Set-up, never measured. Call after bench/_web.Bench has set
Django up."""

import os
import uuid
from datetime import timedelta
from decimal import Decimal

SHIPPING = dict(
    method="shipping", recipient_name="王芳", recipient_phone="13800138000", address="上海市徐汇区漕溪北路 1 号"
)
_serial = [0]


def shop(name: str = "压测店铺"):
    from shops.models import Shop, ShopSettings

    _serial[0] += 1
    made = Shop.objects.create(name=name, slug=f"bench-{os.getpid()}-{_serial[0]}")
    ShopSettings.objects.create(shop=made)
    return made


def members(n: int, tag: str) -> list:
    """n members with a verified phone, a month old (not brand-new accounts)."""
    from django.utils import timezone

    from accounts.models import User

    _serial[0] += 1
    base = _serial[0] * 10_000_000 + (os.getpid() % 100) * 100_000
    joined = timezone.now() - timedelta(days=30)
    return User.objects.bulk_create(
        User(
            username=f"{tag}{base + i}",
            phone=f"+86139{(base + i) % 10**8:08d}",
            phone_verified=True,
            display_name=f"成员{i}",
            date_joined=joined,
        )
        for i in range(n)
    )


def group(shop_, name: str = "宝妈好物群", capacity: int = 500):
    from groups.models import Group

    return Group.objects.create(shop=shop_, name=name, capacity=capacity, state="active")


def add_members(group_, users) -> None:
    from groups.services import add_member

    for user in users:
        add_member(group=group_, user=user, by=None)


def invite_link(group_, inviter):
    from groups.models import InviteLink

    return InviteLink.objects.create(group=group_, shop=group_.shop, inviter=inviter)


def product(shop_, *, price: str = "39.90", stock: int = 100, name: str = "有机米粉"):
    from orders.models import Product, Sku

    made = Product.objects.create(shop=shop_, name=name, description="好米粉", usage_cycle_days=30)
    sku = Sku.objects.create(product=made, spec="500g", price=Decimal(price), stock=stock)
    return made, sku


def order(member, group_, sku, quantity: int = 1):
    from orders.services import DeliveryRequest, LineRequest, place_order

    return place_order(
        member=member,
        group=group_,
        lines=[LineRequest(sku.pk, quantity)],
        delivery=DeliveryRequest(**SHIPPING),
        idempotency_key=uuid.uuid4().hex,
    )


def session_cookie(session_key: str, csrf: str = "") -> str:
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    return cookie + (f"; {settings.CSRF_COOKIE_NAME}={csrf}" if csrf else "")
