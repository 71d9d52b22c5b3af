"""Writes for the catalog: products, SKUs, images, stock and pickup points."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Group
from shequn import images
from shops import audit
from shops.models import Shop

from . import soldout
from .models import PickupPoint, Product, ProductImage, Sku

CENT = Decimal("0.01")
MAX_STOCK = 10_000_000
MAX_PRICE = Decimal("1000000.00")
# What the audit log keeps of each catalog object when an operator saves it.
PRODUCT_FIELDS = ("name", "description", "category", "is_active", "usage_cycle_days", "offered_to_all_groups")
SKU_FIELDS = ("spec", "price", "per_member_limit", "is_active")
PICKUP_POINT_FIELDS = ("name", "address", "opening_hours", "is_active")


def _check_groups(shop: Shop, groups) -> list[Group]:
    groups = list(groups or [])
    if any(g.shop_id != shop.pk for g in groups):
        raise ValidationError({"groups": _("只能选择本店的群。")})
    return groups


@transaction.atomic
def save_product(
    *,
    shop: Shop,
    by: User,
    product: Product | None = None,
    name: str,
    description: str = "",
    category: str = "",
    is_active: bool = True,
    usage_cycle_days: int = 30,
    offered_to_all_groups: bool = True,
    groups=(),
    image=None,
) -> Product:
    """Create or update a product; chosen groups must be the shop's, and at least one when not offered to all.

    `image` (an upload) is added after the existing ones; a refused image refuses the whole save.
    """
    if not name.strip():
        raise ValidationError({"name": _("请填写商品名称。")})
    if not usage_cycle_days or usage_cycle_days < 1:
        raise ValidationError({"usage_cycle_days": _("使用周期至少为 1 天。")})
    groups = _check_groups(shop, groups)
    if not offered_to_all_groups and not groups:
        raise ValidationError({"groups": _("请至少选择一个销售的群，或对所有群可见。")})
    product = product or Product(shop=shop)
    if product.shop_id != shop.pk:
        raise ValidationError(_("商品不属于本店。"))
    created = product.pk is None
    before = {} if created else {**audit.snapshot(product, PRODUCT_FIELDS), "groups": _group_ids(product)}
    product.name, product.description, product.category = name.strip(), description, category
    product.is_active, product.usage_cycle_days = is_active, usage_cycle_days
    product.offered_to_all_groups = offered_to_all_groups
    product.save()
    product.groups.set(groups if not offered_to_all_groups else [])
    after = {**audit.snapshot(product, PRODUCT_FIELDS), "groups": sorted(g.pk for g in product.groups.all())}
    if image:
        try:
            added = _store_image(product=product, upload=image, position=product.images.count())
        except ValidationError as error:
            raise ValidationError({"image": error.messages}) from None
        after["image_added"] = added.image.name
    action = "catalog.product.create" if created else "catalog.product.update"
    audit.record(shop=shop, by=by, action=action, target=product, before=before, after=after)
    return product


def _group_ids(product: Product) -> list[int]:
    return sorted(product.groups.values_list("pk", flat=True))


@transaction.atomic
def add_product_image(*, product: Product, by: User, upload, position: int = 0) -> ProductImage:
    """Add a photo to a product (see _store_image), recorded in the shop's audit log."""
    image = _store_image(product=product, upload=upload, position=position)
    audit.record(
        shop=product.shop_id,
        by=by,
        action="catalog.product.image",
        target=product,
        after={"image_added": image.image.name, "position": position},
    )
    return image


def _store_image(*, product: Product, upload, position: int) -> ProductImage:
    """Store a product photo through shequn.images (decoded, stripped, downscaled, renamed) and its thumbnail."""
    photo = images.clean_image(upload, bounds=images.PHOTO)
    image = ProductImage(product=product, position=position)
    image.image.save(photo.name, photo, save=False)
    thumb = images.clean_image(photo, bounds=images.THUMBNAIL)
    image.thumbnail.save(thumb.name, thumb, save=False)
    image.save()
    return image


@transaction.atomic
def save_sku(
    *,
    product: Product,
    by: User,
    sku: Sku | None = None,
    spec: str,
    price: Decimal,
    stock: int | None = None,
    per_member_limit: int | None = None,
    is_active: bool = True,
) -> Sku:
    """Create or update a SKU. Stock is set here only on creation; later changes go through adjust_stock."""
    errors = {}
    if not spec.strip():
        errors["spec"] = _("请填写规格。")
    price = _clean_price(price, errors)
    if sku is None:
        _check_initial_stock(stock, errors)
    if per_member_limit is not None and per_member_limit < 1:
        errors["per_member_limit"] = _("限购数量至少为 1。")
    if errors:
        raise ValidationError(errors)
    sku = sku or Sku(product=product, stock=stock)
    if sku.product_id != product.pk:
        raise ValidationError(_("规格不属于该商品。"))
    created = sku.pk is None
    before = {} if created else audit.snapshot(sku, SKU_FIELDS)
    sku.spec, sku.price, sku.per_member_limit, sku.is_active = spec.strip(), price, per_member_limit, is_active
    try:
        with transaction.atomic():
            if sku.pk is None:
                sku.save()
            else:  # never write stock here: orders may have taken some since this SKU was loaded
                sku.save(update_fields=["spec", "price", "per_member_limit", "is_active"])
    except IntegrityError:
        raise ValidationError({"spec": _("该商品已有同名规格。")}) from None
    after = audit.snapshot(sku, SKU_FIELDS) | ({"stock": sku.stock} if created else {})
    audit.record(
        shop=product.shop_id,
        by=by,
        action="catalog.sku.create" if created else "catalog.sku.update",
        target=sku,
        before=before,
        after=after,
        label=f"{product.name} {sku.spec}",
    )
    return sku


def _clean_price(price, errors: dict) -> Decimal:
    """The price in whole fen, above 0 and at most MAX_PRICE (the given value when unreadable)."""
    try:
        price = Decimal(price).quantize(CENT)
    except (ArithmeticError, TypeError, ValueError):
        errors["price"] = _("价格格式不正确。")
        return price
    if price <= 0:
        errors["price"] = _("价格必须大于 0。")
    elif price > MAX_PRICE:
        errors["price"] = _("价格不能超过 %(max)s 元。") % {"max": MAX_PRICE}
    return price


def _check_initial_stock(stock: int | None, errors: dict) -> None:
    """A new SKU starts with 0…MAX_STOCK pieces."""
    if stock is None or stock < 0:
        errors["stock"] = _("库存不能为负数。")
    elif stock > MAX_STOCK:
        errors["stock"] = _("库存最多 %(max)d 件。") % {"max": MAX_STOCK}


@transaction.atomic
def adjust_stock(*, sku: Sku, by: User, delta: int) -> Sku:
    """Add (restock) or remove stock relative to what is there now, so concurrent orders are not overwritten.

    Removing more than is left is refused (the CHECK constraint would refuse it too), and so is a
    restock that would take the stock past MAX_STOCK (the column's range is far above any real shop).
    """
    if delta < 0:
        updated = Sku.objects.filter(pk=sku.pk, stock__gte=-delta).update(stock=F("stock") + delta)
        if updated != 1:
            raise ValidationError({"delta": _("库存不足，无法减少这么多。")})
    else:
        updated = Sku.objects.filter(pk=sku.pk, stock__lte=MAX_STOCK - delta).update(stock=F("stock") + delta)
        if updated != 1:
            raise ValidationError({"delta": _("库存最多 %(max)d 件。") % {"max": MAX_STOCK}})
    sku.refresh_from_db()
    if delta > 0:
        soldout.clear_on_commit([sku.pk])
    elif sku.stock == 0:
        soldout.mark_on_commit(sku.pk, str(sku))
    audit.record(
        shop=sku.product.shop_id,
        by=by,
        action="catalog.stock.adjust",
        target=sku,
        before={"stock": sku.stock - delta},
        after={"stock": sku.stock, "delta": delta},
        label=f"{sku.product.name} {sku.spec}",
    )
    return sku


@transaction.atomic
def save_pickup_point(
    *,
    shop: Shop,
    by: User,
    point: PickupPoint | None = None,
    name: str,
    address: str,
    opening_hours: str = "",
    is_active: bool = True,
) -> PickupPoint:
    if not name.strip() or not address.strip():
        raise ValidationError(_("请填写自提点名称和地址。"))
    point = point or PickupPoint(shop=shop)
    if point.shop_id != shop.pk:
        raise ValidationError(_("自提点不属于本店。"))
    created = point.pk is None
    before = {} if created else audit.snapshot(point, PICKUP_POINT_FIELDS)
    point.name, point.address = name.strip(), address.strip()
    point.opening_hours, point.is_active = opening_hours, is_active
    point.save()
    audit.record(
        shop=shop,
        by=by,
        action="catalog.pickup_point.create" if created else "catalog.pickup_point.update",
        target=point,
        before=before,
        after=audit.snapshot(point, PICKUP_POINT_FIELDS),
    )
    return point
