"""Posters are drawn once per set of inputs (text, link, expiry, stored cover) and then answered from the cache."""

import threading
import time
from io import BytesIO

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from groups import posters, qr, services
from shequn import images
from tests.factories import GroupFactory, ShopFactory, UserFactory, shop_owner
from tests.race import race

pytestmark = pytest.mark.django_db(transaction=True)


def cover_upload(colour=(200, 90, 60)) -> SimpleUploadedFile:
    out = BytesIO()
    Image.new("RGB", (4000, 3000), colour).save(out, format="JPEG")
    return SimpleUploadedFile("cover.jpg", out.getvalue(), content_type="image/jpeg")


def set_cover(group, upload):
    settings = {name: getattr(group, name) for name in ("capacity", "threshold", "entry_price", "entry_question")}
    cover = images.clean_image(upload, bounds=images.COVER)  # as the group form stores it
    return services.update_group(
        group=group, by=shop_owner(group.shop), name=group.name, tags=[], cover=cover, **settings
    )


@pytest.fixture
def link():
    shop = ShopFactory()
    group = GroupFactory(shop=shop)
    group = set_cover(group, cover_upload())
    inviter = UserFactory(display_name="小美")
    services.add_member(group=group, user=inviter, by=None)
    return services.personal_link(user=inviter, group=group)


@pytest.fixture
def renders(monkeypatch):
    """Counts the real renders; each is slowed so that concurrent requests surely overlap it."""
    drawn, real, lock = [], qr.poster_png, threading.Lock()

    def counting(**kwargs):
        cover = kwargs.get("cover")
        with lock:
            drawn.append(Image.open(cover).size if cover else None)
        if cover:
            cover.seek(0)
        time.sleep(0.5)
        return real(**kwargs)

    monkeypatch.setattr(qr, "poster_png", counting)
    return drawn


def fetch_posters(link, n):
    url = reverse("member:invite_poster", args=[link.code])

    def fetch(_i):
        client = Client()
        client.force_login(link.inviter)
        return client.get(url)

    return race(n, fetch)


def test_twenty_concurrent_requests_cost_one_render(link, renders):
    responses = fetch_posters(link, 20)
    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.content for r in responses}) == 1
    assert len(renders) == 1
    # Drawn from the stored cover, which upload already brought down to the poster's scale.
    assert renders == [(1500, 1125)]

    fetch_posters(link, 3)
    assert len(renders) == 1  # still cached


def test_control_without_the_render_lock_every_request_draws(link, renders, monkeypatch):
    class EveryoneRenders:
        def __getattr__(self, name):
            return getattr(cache, name)

        def add(self, *args, **kwargs):
            return True

    monkeypatch.setattr(posters, "cache", EveryoneRenders())
    fetch_posters(link, 4)
    assert len(renders) > 1


def test_a_new_cover_changes_the_inputs_and_the_poster(link, renders):
    [first] = fetch_posters(link, 1)
    set_cover(link.group, cover_upload((20, 60, 200)))
    [second] = fetch_posters(link, 1)
    assert len(renders) == 2 and first.content != second.content
