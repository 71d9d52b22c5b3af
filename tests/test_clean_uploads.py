"""manage.py clean_uploads: uploads stored before shequn.images are re-stored as the gate stores new ones."""

from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from accounts.models import User
from orders.models import ProductImage
from tests.factories import ProductFactory, UserFactory
from tests.orders.test_uploads import PAYLOAD, RANDOM_NAME, html_gif, jpeg

pytestmark = pytest.mark.django_db


def raw(data: bytes, name: str) -> ContentFile:
    """A file as the old code stored it: the client's bytes under the client's name."""
    return ContentFile(data, name=name)


def png_bytes(size=(3000, 2000)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, "green").save(out, format="PNG")
    return out.getvalue()


def test_old_uploads_are_re_encoded_or_removed(group, shop, settings):
    group.cover = raw(html_gif().read(), "x.html")
    group.save()
    member = UserFactory()
    member.avatar = raw(jpeg(size=(2000, 2000)).read(), "me.JPG")
    member.save()
    product = ProductFactory(shop=shop)
    photo = ProductImage.objects.create(
        product=product, image=raw(png_bytes(), "big.png"), thumbnail=raw(png_bytes((360, 240)), "t.jpg")
    )
    junk = ProductImage.objects.create(
        product=product, image=raw(PAYLOAD, "evil.png"), thumbnail=raw(png_bytes((10, 10)), "t2.jpg")
    )
    old_names = [group.cover.name, member.avatar.name, photo.image.name, photo.thumbnail.name, junk.image.name]

    call_command("clean_uploads")

    group.refresh_from_db()
    member = User.objects.get(pk=member.pk)
    photo.refresh_from_db()
    for field, size in ((group.cover, (1, 1)), (member.avatar, (320, 320)), (photo.image, (1600, 1067))):
        assert RANDOM_NAME.match(field.name.rsplit("/", 1)[1])
        with field.open("rb") as f:
            data = f.read()
        assert PAYLOAD not in data and Image.open(BytesIO(data)).size == size
    assert group.cover.name.endswith(".gif")
    assert Image.open(photo.thumbnail.path).size == (360, 240) and RANDOM_NAME.match(photo.thumbnail.name[-36:])
    assert not ProductImage.objects.filter(pk=junk.pk).exists()  # not an image: the row goes
    assert not any((settings.MEDIA_ROOT / name).exists() for name in old_names)

    again = [group.cover.name, member.avatar.name, photo.image.name]
    call_command("clean_uploads")  # a second run leaves clean files alone
    group.refresh_from_db()
    assert group.cover.name == again[0]


def test_a_missing_file_is_listed_and_keeps_its_row(group, capsys):
    group.cover = "group_covers/gone.jpg"  # the volume not mounted, say
    group.save()
    call_command("clean_uploads")
    group.refresh_from_db()
    assert group.cover.name == "group_covers/gone.jpg"
    assert "missing, left as it is" in capsys.readouterr().out


def test_an_old_swap_photo_is_re_encoded_in_private_storage_or_removed(shop, group):
    from campaigns.models import SwapPhoto
    from tests.campaigns.swap_support import listing, members_of, swap_campaign

    campaign = swap_campaign(shop)
    item = listing(campaign, members_of(group, 1)[0], group)
    photo = SwapPhoto.objects.create(listing=item, image=raw(png_bytes(), "my stroller.PNG"))
    junk = SwapPhoto.objects.create(listing=item, image=raw(PAYLOAD, "evil.png"))
    old = photo.image.path

    call_command("clean_uploads")

    photo.refresh_from_db()
    assert RANDOM_NAME.match(photo.image.name.rsplit("/", 1)[1])
    assert "/private/" in photo.image.path and Image.open(photo.image.path).size == (1600, 1067)
    assert not SwapPhoto.objects.filter(pk=junk.pk).exists()
    assert not Path(old).exists()
