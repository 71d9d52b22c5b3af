"""Dashboard: products, SKUs, stock and pickup points. The catalog service decides; the pages show its word."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import catalog
from orders.models import PickupPoint, Product, ProductImage, Sku
from tests.factories import GroupFactory, PickupPointFactory, ProductFactory, SkuFactory, shop_owner

from .dashboard_support import client_for, messages_of, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def op(operator):
    return client_for(operator)


def _product_data(**overrides):
    data = {
        "name": "有机米粉",
        "category": "辅食",
        "description": "六个月以上宝宝",
        "usage_cycle_days": 30,
        "is_active": "on",
        "offered_to_all_groups": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _image(name="rice.png", content=None, content_type="image/png"):
    return SimpleUploadedFile(name, content if content is not None else png(), content_type=content_type)


# --- Products -----------------------------------------------------------------------------------------


def test_create_a_product_with_an_image(op, shop):
    response = op.post(reverse("dashboard:product_create"), _product_data(image=_image()))
    product = Product.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:product_edit", args=[product.pk])
    assert (product.shop, product.name, product.category, product.usage_cycle_days, product.is_active) == (
        shop,
        "有机米粉",
        "辅食",
        30,
        True,
    )
    image = ProductImage.objects.get(product=product)
    assert image.image.name.endswith(".png") and image.thumbnail.name.endswith(".png")  # the detected format
    assert image.image.storage.exists(image.image.name) and image.thumbnail.storage.exists(image.thumbnail.name)
    page = op.get(response["Location"])
    assert "已保存商品「有机米粉」" in page.content.decode()
    assert image.thumbnail.url in page.content.decode()


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"name": ""}, "name", "该字段是必填项"),
        ({"name": "   "}, "name", "该字段是必填项"),
        ({"usage_cycle_days": 0}, "usage_cycle_days", "大于或等于1"),
        ({"usage_cycle_days": "abc"}, "usage_cycle_days", "输入整数"),
        ({"usage_cycle_days": 10**12}, "usage_cycle_days", "小于或等于3650"),
        ({"offered_to_all_groups": None}, "groups", "请至少选择一个销售的群"),
    ],
)
def test_product_form_errors_are_shown_and_nothing_is_saved(op, overrides, field, message):
    response = op.post(reverse("dashboard:product_create"), _product_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Product.objects.exists()


def test_an_empty_post_is_validated_not_ignored(op):
    response = op.post(reverse("dashboard:product_create"), {})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Product.objects.exists()


def test_a_product_can_be_offered_to_chosen_groups_of_the_shop_only(op, shop, other_shop):
    mine, theirs = GroupFactory(shop=shop), GroupFactory(shop=other_shop)
    response = op.post(
        reverse("dashboard:product_create"), _product_data(offered_to_all_groups=None, groups=[theirs.pk])
    )
    assert response.status_code == 200 and "groups" in response.context["form"].errors
    assert not Product.objects.exists()
    op.post(reverse("dashboard:product_create"), _product_data(offered_to_all_groups=None, groups=[mine.pk]))
    product = Product.objects.get()
    assert not product.offered_to_all_groups and list(product.groups.all()) == [mine]


@pytest.mark.parametrize(
    "upload,message",
    [
        (lambda: _image("fake.png", b"this is not an image"), "无法识别的图片文件"),
        (lambda: _image("doc.pdf", b"%PDF-1.4 not an image", "application/pdf"), "无法识别的图片文件"),
        (lambda: _image("big.png", png((200, 200), noise=True)), "图片太大"),
    ],
)
def test_bad_images_are_refused_and_the_product_is_not_created(op, settings, upload, message):
    settings.MAX_IMAGE_UPLOAD_BYTES = 50_000
    response = op.post(reverse("dashboard:product_create"), _product_data(image=upload()))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["image"])
    assert message in response.content.decode()
    assert not Product.objects.exists() and not ProductImage.objects.exists()


def test_edit_a_product_and_add_images(op, shop):
    product = ProductFactory(shop=shop, name="旧名字")
    url = reverse("dashboard:product_edit", args=[product.pk])
    assert op.get(url).status_code == 200
    op.post(url, _product_data(name="新名字", usage_cycle_days=60, is_active=None, image=_image("a.png")))
    op.post(url, _product_data(name="新名字", usage_cycle_days=60, is_active=None, image=_image("b.png")))
    product.refresh_from_db()
    assert (product.name, product.usage_cycle_days, product.is_active) == ("新名字", 60, False)
    assert list(product.images.values_list("position", flat=True)) == [0, 1]


def test_a_bad_image_on_edit_leaves_the_product_as_it_was(op, shop):
    product = ProductFactory(shop=shop, name="旧名字", usage_cycle_days=30)
    response = op.post(
        reverse("dashboard:product_edit", args=[product.pk]),
        _product_data(name="新名字", usage_cycle_days=90, image=_image("x.png", b"GIF89a broken")),
    )
    assert response.status_code == 200
    assert "无法识别的图片文件" in response.content.decode()
    product.refresh_from_db()
    assert (product.name, product.usage_cycle_days) == ("旧名字", 30)
    assert not ProductImage.objects.exists()


def _make_products(shop, n, groups):
    for i in range(n):
        product = ProductFactory(shop=shop, name=f"商品{i}", offered_to_all_groups=bool(i % 2))
        product.groups.set(groups)
        SkuFactory(product=product, spec="小份", stock=0)
        SkuFactory(product=product, spec="大份", is_active=False)
        catalog.add_product_image(product=product, by=shop_owner(shop), upload=_image())


def _count_queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_product_list_runs_in_constant_queries(shop, viewer):
    client = client_for(viewer)
    groups = [GroupFactory(shop=shop), GroupFactory(shop=shop)]
    _make_products(shop, 1, groups)
    one, _html = _count_queries(client, reverse("dashboard:products"))
    _make_products(shop, 11, groups)
    many, html = _count_queries(client, reverse("dashboard:products"))
    assert one == many
    assert html.count("缺货") == 12 and html.count("停售") == 12 and html.count("<img") == 12


def test_product_list_shows_only_this_shop_and_no_edit_links_to_a_viewer(shop, other_shop, viewer):
    mine = ProductFactory(shop=shop, name="本店米粉")
    ProductFactory(shop=other_shop, name="别家米粉")
    html = client_for(viewer).get(reverse("dashboard:products")).content.decode()
    assert "本店米粉" in html and "别家米粉" not in html
    assert reverse("dashboard:product_edit", args=[mine.pk]) not in html
    assert reverse("dashboard:product_create") not in html


# --- SKUs ---------------------------------------------------------------------------------------------


def _sku_data(**overrides):
    data = {"spec": "500g", "price": "39.90", "stock": 20, "per_member_limit": "", "is_active": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_add_a_sku(op, shop):
    product = ProductFactory(shop=shop)
    response = op.post(reverse("dashboard:sku_create", args=[product.pk]), _sku_data(per_member_limit=2))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:product_edit", args=[product.pk]) + "#skus"
    sku = Sku.objects.get()
    assert (sku.product, sku.spec, sku.price, sku.stock, sku.per_member_limit, sku.is_active) == (
        product,
        "500g",
        Decimal("39.90"),
        20,
        2,
        True,
    )


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"spec": ""}, "spec", "该字段是必填项"),
        ({"price": "0"}, "price", "价格必须大于 0"),
        ({"price": "-5"}, "price", "价格必须大于 0"),
        ({"price": "1.234"}, "price", "小数不超过 2 位"),
        ({"price": "abc"}, "price", "输入一个数字"),
        ({"stock": -1}, "stock", "大于或等于0"),
        ({"stock": 10**10}, "stock", "小于或等于1000000"),
        ({"per_member_limit": 0}, "per_member_limit", "大于或等于1"),
    ],
)
def test_sku_form_errors_are_shown_and_nothing_is_saved(op, shop, overrides, field, message):
    product = ProductFactory(shop=shop)
    response = op.post(reverse("dashboard:sku_create", args=[product.pk]), _sku_data(**overrides))
    assert response.status_code == 200
    errors = " ".join(response.context["new_sku_form"].errors[field])
    assert message in errors and message in response.content.decode()
    assert not Sku.objects.exists()


def test_a_duplicate_spec_is_refused(op, shop):
    sku = SkuFactory(product__shop=shop, spec="500g")
    response = op.post(reverse("dashboard:sku_create", args=[sku.product_id]), _sku_data(spec="500g"))
    assert response.status_code == 200
    assert "该商品已有同名规格" in response.content.decode()
    assert Sku.objects.count() == 1


def test_edit_a_sku_never_touches_its_stock(op, shop):
    sku = SkuFactory(product__shop=shop, spec="500g", price=Decimal("39.90"), stock=7)
    response = op.post(
        reverse("dashboard:sku_edit", args=[sku.pk]),
        {"spec": "1kg", "price": "69.00", "per_member_limit": "3", "stock": "999"},
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    assert (sku.spec, sku.price, sku.per_member_limit, sku.is_active, sku.stock) == (
        "1kg",
        Decimal("69.00"),
        3,
        False,
        7,
    )


def test_editing_with_a_stale_sku_keeps_stock_taken_meanwhile(shop):
    """The edit page loads the SKU, orders take stock, then the edit is saved: the orders' stock stands."""
    sku = SkuFactory(product__shop=shop, stock=10)
    stale = Sku.objects.get(pk=sku.pk)
    catalog.adjust_stock(sku=sku, by=shop_owner(shop), delta=-4)  # what an order reservation does meanwhile
    catalog.save_sku(product=stale.product, by=shop_owner(shop), sku=stale, spec="新规格", price=Decimal("10.00"))
    sku.refresh_from_db()
    assert (sku.spec, sku.stock) == ("新规格", 6)


def test_sku_edit_errors_are_shown_on_its_row(op, shop):
    sku = SkuFactory(product__shop=shop, spec="500g", price=Decimal("39.90"))
    SkuFactory(product=sku.product, spec="1kg")
    response = op.post(reverse("dashboard:sku_edit", args=[sku.pk]), {"spec": "1kg", "price": "39.90"})
    assert response.status_code == 200
    assert "该商品已有同名规格" in response.content.decode()
    response = op.post(reverse("dashboard:sku_edit", args=[sku.pk]), {"spec": "500g", "price": "0"})
    assert "价格必须大于 0" in response.content.decode()
    sku.refresh_from_db()
    assert (sku.spec, sku.price) == ("500g", Decimal("39.90"))


# --- Stock --------------------------------------------------------------------------------------------


def _adjust(client, sku, delta):
    return client.post(reverse("dashboard:sku_stock", args=[sku.pk]), {"delta": delta}, follow=True)


def test_restock_and_take_stock_away(op, shop):
    sku = SkuFactory(product__shop=shop, stock=5)
    response = _adjust(op, sku, 10)
    assert ("success", f"「{sku}」库存已调整为 15。") in messages_of(response)
    _adjust(op, sku, -15)
    sku.refresh_from_db()
    assert sku.stock == 0


@pytest.mark.parametrize(
    "delta,message",
    [
        (-6, "库存不足，无法减少这么多"),
        (0, "请填写不为 0 的数量"),
        ("abc", "输入整数"),
        ("", "该字段是必填项"),
        (10**12, "小于或等于1000000"),
        (-(10**12), "大于或等于-1000000"),
    ],
)
def test_stock_never_goes_negative_and_bad_input_is_a_message(op, shop, delta, message):
    sku = SkuFactory(product__shop=shop, stock=5)
    response = _adjust(op, sku, delta)
    assert response.status_code == 200
    assert any(level == "error" and message in text for level, text in messages_of(response))
    sku.refresh_from_db()
    assert sku.stock == 5


def test_stock_adjustments_are_relative_to_the_stock_there_is_now(op, shop):
    """Orders take stock between page load and submit: the adjustment adds to what is left, never overwrites."""
    sku = SkuFactory(product__shop=shop, stock=10)
    Sku.objects.filter(pk=sku.pk).update(stock=3)  # sold meanwhile
    _adjust(op, sku, -3)
    response = _adjust(op, sku, -1)
    assert any("库存不足" in text for _level, text in messages_of(response))
    sku.refresh_from_db()
    assert sku.stock == 0


# --- Pickup points ------------------------------------------------------------------------------------


def test_add_and_edit_a_pickup_point(op, shop):
    url = reverse("dashboard:pickup_points")
    response = op.post(
        url,
        {"name": "望京店", "address": "北京市朝阳区望京街 1 号", "opening_hours": "9:00–21:00", "is_active": "on"},
        follow=True,
    )
    point = PickupPoint.objects.get()
    assert (point.shop, point.name, point.is_active) == (shop, "望京店", True)
    assert ("success", "已添加自提点「望京店」。") in messages_of(response)
    edit = reverse("dashboard:pickup_point_edit", args=[point.pk])
    assert op.get(edit).status_code == 200
    op.post(edit, {"name": "望京二店", "address": "北京市朝阳区望京街 2 号"})
    point.refresh_from_db()
    assert (point.name, point.address, point.is_active) == ("望京二店", "北京市朝阳区望京街 2 号", False)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"name": "", "address": "某地"}, "name"),
        ({"name": "望京店", "address": "  "}, "address"),
        ({"name": "店" * 61, "address": "某地"}, "name"),
        ({}, "name"),
    ],
)
def test_pickup_point_errors_are_shown(op, shop, data, field):
    response = op.post(reverse("dashboard:pickup_points"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not PickupPoint.objects.exists()
    point = PickupPointFactory(shop=shop, name="原名")
    response = op.post(reverse("dashboard:pickup_point_edit", args=[point.pk]), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    point.refresh_from_db()
    assert point.name == "原名"


def test_pickup_points_list_only_this_shop_and_a_viewer_gets_no_form(shop, other_shop, viewer):
    PickupPointFactory(shop=shop, name="本店自提点")
    PickupPointFactory(shop=other_shop, name="别家自提点")
    response = client_for(viewer).get(reverse("dashboard:pickup_points"))
    html = response.content.decode()
    assert "本店自提点" in html and "别家自提点" not in html
    assert 'method="post" novalidate' not in html and "添加自提点" not in html


def test_navigation_links_to_the_new_pages(op):
    html = op.get(reverse("dashboard:orders")).content.decode()
    for name, label in [("products", "商品"), ("orders", "订单"), ("cases", "售后"), ("pickup_points", "自提点")]:
        assert f'href="{reverse(f"dashboard:{name}")}">{label}</a>' in html
    assert 'nav-item active"\n         href="/dashboard/orders/"' in html
