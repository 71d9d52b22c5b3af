"""Every upload path stores only what shequn.images makes of the file: a re-encoded image under a random name.

The paths: group covers (dashboard), product images (dashboard and API), after-sales photos (member page
and API), avatars (profile). Each is fed the attacks of issue 16: an HTML-bearing GIF named .html, and a
small PNG that declares 12000×12000 pixels (a decompression bomb).
"""

import re
import struct
import zlib
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from groups.models import Group
from orders.models import CasePhoto, OrderState, ProductImage
from shequn import images
from tests.builders.orders import order_for, pay
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

RANDOM_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|gif|webp)$")
PAYLOAD = b"<html><script>fetch('/dashboard/staff/')</script></html>"


def html_gif(name="x.html") -> SimpleUploadedFile:
    """The stored-XSS proof: a real 1×1 GIF with an HTML page appended, named .html."""
    out = BytesIO()
    Image.new("P", (1, 1)).save(out, format="GIF")
    return SimpleUploadedFile(name, out.getvalue() + PAYLOAD, content_type="text/html")


def bomb(side=12000) -> SimpleUploadedFile:
    """A valid 1-bit PNG of side×side pixels in a few KB: decoding it would cost side² bytes or more."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\0" * (side // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return SimpleUploadedFile("cover.png", data, content_type="image/png")


def jpeg(size=(3000, 2000), exif=True) -> SimpleUploadedFile:
    image = Image.new("RGB", size, (200, 120, 60))
    out = BytesIO()
    extra = {}
    if exif:
        info = Image.Exif()
        info[0x010F] = "PhoneMaker"  # Make
        info[0x8825] = {2: (31.0, 14.0, 0.0)}  # GPSInfo: latitude
        extra["exif"] = info.tobytes()
    image.save(out, format="JPEG", quality=90, **extra)
    return SimpleUploadedFile("IMG_0001.JPG", out.getvalue(), content_type="image/jpeg")


def stored(field) -> Image.Image:
    with field.open("rb") as f:
        image = Image.open(BytesIO(f.read()))
        image.load()
    return image


def assert_clean(field, kind: str) -> Image.Image:
    """The stored file has a random name with its format's extension, decodes, re-encodes, and has no payload."""
    name = field.name.rsplit("/", 1)[1]
    assert RANDOM_NAME.match(name), name
    with field.open("rb") as f:
        data = f.read()
    assert PAYLOAD not in data and b"<script" not in data
    image = stored(field)
    assert image.format == kind and name.endswith("." + images.EXTENSIONS[kind])
    image.save(BytesIO(), format=kind)
    return image


# --- One gate: clean_image ----------------------------------------------------------------------------


def test_the_html_bearing_gif_becomes_a_clean_gif_with_a_random_name():
    first = images.clean_image(html_gif())
    second = images.clean_image(html_gif())
    assert RANDOM_NAME.match(first.name) and first.name.endswith(".gif") and first.name != second.name
    data = first.read()
    assert PAYLOAD not in data
    assert Image.open(BytesIO(data)).format == "GIF"


def test_metadata_is_stripped_and_the_photo_downscaled_once():
    upload = jpeg()
    assert Image.open(upload).getexif()  # the control: the upload did carry EXIF (maker, GPS)
    cleaned = Image.open(images.clean_image(upload, bounds=images.COVER))
    assert cleaned.format == "JPEG" and max(cleaned.size) == 1500 and cleaned.size == (1500, 1000)
    assert not cleaned.getexif() and "icc_profile" not in cleaned.info


def test_a_phones_multi_picture_jpeg_is_stored_as_a_jpeg():
    out = BytesIO()
    frames = [Image.new("RGB", (800, 600), colour) for colour in ("orange", "navy")]
    frames[0].save(out, format="MPO", save_all=True, append_images=frames[1:])
    assert Image.open(BytesIO(out.getvalue())).format == "MPO"  # the control: Pillow calls it MPO
    cleaned = images.clean_image(SimpleUploadedFile("IMG_2001.JPG", out.getvalue(), content_type="image/jpeg"))
    assert cleaned.name.endswith(".jpg") and Image.open(cleaned).format == "JPEG"


def test_a_decompression_bomb_is_refused_on_its_header():
    with pytest.raises(ValidationError) as refused:
        images.clean_image(bomb())
    assert refused.value.messages == ["图片像素过多，请上传不超过 40 百万像素的图片。"]


def test_the_pixel_limit_is_a_setting(settings):
    settings.MAX_IMAGE_PIXELS = 2000 * 1000
    with pytest.raises(ValidationError):
        images.clean_image(jpeg(size=(2000, 1001), exif=False))
    assert images.clean_image(jpeg(size=(2000, 1000), exif=False))


# --- Every upload path --------------------------------------------------------------------------------


@pytest.fixture
def paid(buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    assert order.state == OrderState.PAID
    return order


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _group_cover(client, operator, buyer, paid, upload):
    client.force_login(operator)
    data = {"name": "封面群", "purpose": "sales", "kind": "产品", "capacity": 200, "threshold": "open"}
    response = client.post(reverse("dashboard:group_create"), {**data, "cover": upload})
    group = Group.objects.filter(name="封面群").first()
    return response, "cover", group.cover if group else None, "PNG"


def _product_form(client, operator, buyer, paid, upload):
    client.force_login(operator)
    data = {"name": "米粉", "usage_cycle_days": 30, "is_active": "on", "offered_to_all_groups": "on"}
    response = client.post(reverse("dashboard:product_create"), {**data, "image": upload})
    image = ProductImage.objects.first()
    return response, "image", image.image if image else None, None


def _product_api(client, operator, buyer, paid, upload):
    product = ProductFactory(shop=paid.shop)
    url = reverse("api-shop-product-images", args=[product.pk])
    response = api_as(operator).post(url, {"image": upload}, format="multipart")
    image = ProductImage.objects.filter(product=product).first()
    return response, "image", image.image if image else None, None


def _case_page(client, operator, buyer, paid, upload):
    client.force_login(buyer)
    response = client.post(reverse("orders:open_case", args=[paid.pk]), {"reason": "坏了", "photos": [upload]})
    photo = CasePhoto.objects.first()
    return response, "photos", photo.image if photo else None, None


def _case_api(client, operator, buyer, paid, upload):
    url = reverse("api-my-order-after-sales", args=[paid.pk])
    response = api_as(buyer).post(url, {"reason": "坏了", "photos": [upload]}, format="multipart")
    photo = CasePhoto.objects.first()
    return response, "photos", photo.image if photo else None, None


def _avatar(client, operator, buyer, paid, upload):
    client.force_login(buyer)
    response = client.post(reverse("profile"), {"display_name": "小米", "avatar": upload})
    user = User.objects.get(pk=buyer.pk)
    return response, "avatar", user.avatar or None, None


PATHS = [_group_cover, _product_form, _product_api, _case_page, _case_api, _avatar]


def _field_errors(response, field) -> str:
    if response.headers["Content-Type"].startswith("application/json"):
        return " ".join(e["message"] for e in response.json()["errors"] if e["field"] == field)
    return " ".join(response.context["form"].errors.get(field, []))


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__.strip("_") for p in PATHS])
def test_every_path_stores_the_html_gif_as_a_clean_gif(client, operator, buyer, paid, path):
    response, _field, field_file, _kind = path(client, operator, buyer, paid, html_gif())
    assert response.status_code in (201, 302), response.content[:500]
    assert_clean(field_file, "GIF")
    served = client.get(field_file.url)
    assert served.status_code == 200 and served["Content-Type"] == "image/gif"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"] and "default-src 'none'" in served["Content-Security-Policy"]


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__.strip("_") for p in PATHS])
def test_every_path_refuses_a_decompression_bomb_on_its_field(client, operator, buyer, paid, path):
    response, field, field_file, _kind = path(client, operator, buyer, paid, bomb())
    assert response.status_code in (200, 400)
    assert "图片像素过多" in _field_errors(response, field)
    assert not field_file


def test_a_cover_is_stored_at_the_size_pages_and_posters_show(client, operator, buyer, paid):
    response, _field, cover, _kind = _group_cover(client, operator, buyer, paid, jpeg(size=(4000, 3000)))
    assert response.status_code == 302
    image = assert_clean(cover, "JPEG")
    assert image.size == (1500, 1125) and not image.getexif()


def test_a_product_image_gets_a_small_thumbnail_of_the_clean_photo(client, operator, buyer, paid):
    _product_form(client, operator, buyer, paid, jpeg(size=(4000, 3000)))
    image = ProductImage.objects.get()
    assert assert_clean(image.image, "JPEG").size == (1600, 1200)
    assert assert_clean(image.thumbnail, "JPEG").size == (360, 270)


# --- Serving media ------------------------------------------------------------------------------------


def test_media_serves_images_only_and_never_a_page(client, settings):
    (settings.MEDIA_ROOT / "after_sales").mkdir(parents=True)
    (settings.MEDIA_ROOT / "after_sales" / "x.html").write_bytes(PAYLOAD)  # stored before this gate existed
    (settings.MEDIA_ROOT / "after_sales" / "x.gif").write_bytes(html_gif().read())
    assert client.get("/media/after_sales/x.html").status_code == 404
    served = client.get("/media/after_sales/x.gif")
    assert served["Content-Type"] == "image/gif" and served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert client.get("/media/../settings.py").status_code == 404
