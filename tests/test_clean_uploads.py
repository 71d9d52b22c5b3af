"""manage.py clean_uploads: uploads stored before shequn.images are re-stored as the gate stores new ones."""

from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from accounts.models import User
from campaigns.models import CheckIn
from campaigns.types.checkin import kind as checkin
from orders.models import ProductImage
from tests.campaigns.checkin_support import a_group, checkin_campaign, members_of
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


def test_check_in_photos_are_re_encoded_with_a_new_thumbnail_and_junk_leaves_the_day(shop, settings):
    campaign = checkin_campaign(shop)
    group = a_group(shop)
    first, second = members_of(group, 2)
    good = checkin.check_in(campaign=campaign, member=first)
    bad = checkin.check_in(campaign=campaign, member=second)
    old_names = [
        _stored(png_bytes(), "checkins/2026/01/old.png"),
        _stored(png_bytes((9, 9)), "checkins/thumbs/2026/01/t.png"),
        _stored(PAYLOAD, "checkins/2026/01/evil.png"),
        _stored(png_bytes((9, 9)), "checkins/thumbs/2026/01/t2.png"),
    ]
    CheckIn.objects.filter(pk=good.pk).update(photo=old_names[0], thumbnail=old_names[1])
    CheckIn.objects.filter(pk=bad.pk).update(photo=old_names[2], thumbnail=old_names[3])
    assert all((settings.MEDIA_ROOT / name).exists() for name in old_names)

    call_command("clean_uploads")

    good.refresh_from_db()
    bad.refresh_from_db()
    assert RANDOM_NAME.match(good.photo.name.rsplit("/", 1)[1]) and good.photo.name.startswith("checkins/")
    assert Image.open(good.photo.path).size == (1600, 1067)
    assert Image.open(good.thumbnail.path).size == (360, 240) and RANDOM_NAME.match(good.thumbnail.name[-36:])
    assert bad.photo.name == "" and bad.thumbnail.name == ""  # not an image: the photo goes, the day stays
    assert CheckIn.objects.filter(pk=bad.pk).exists()
    assert checkin.standing_of(campaign, second).total_days == 1
    assert not any((settings.MEDIA_ROOT / name).exists() for name in old_names)

    again = good.photo.name
    call_command("clean_uploads")  # a second run leaves the clean photo alone
    good.refresh_from_db()
    assert good.photo.name == again


def _stored(data: bytes, name: str) -> str:
    """A file saved under `name` as the old code would have left it; returns the stored name."""
    from django.core.files.storage import default_storage

    return default_storage.save(name, raw(data, name.rsplit("/", 1)[1]))


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
