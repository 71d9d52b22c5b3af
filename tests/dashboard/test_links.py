"""Invite links on the dashboard: create, revoke, personal link, QR codes and posters."""

import io
from datetime import timedelta

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from groups import services
from groups.models import Channel, InviteLink
from tests.factories import shop_owner

pytestmark = pytest.mark.django_db


def _decode(content: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(content)))]


@pytest.fixture
def link(group, operator):
    return services.create_link(
        shop=group.shop,
        by=shop_owner(group.shop),
        inviter=operator,
        group=group,
        options=services.LinkOptions(channel=Channel.POSTER, label="6月海报"),
    )


def test_operator_creates_a_channel_link(operator_client, operator, group):
    expires = (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = operator_client.post(
        reverse("dashboard:link_create", args=[group.pk]),
        {"channel": Channel.PARCEL_CARD, "label": "包裹卡", "expires_at": expires, "max_uses": 100},
    )
    assert response.status_code == 302
    link = InviteLink.objects.get(group=group)
    assert (link.channel, link.label, link.max_uses, link.inviter) == (Channel.PARCEL_CARD, "包裹卡", 100, operator)
    assert timezone.localtime(link.expires_at).strftime("%Y-%m-%dT%H:%M") == expires


def test_a_link_expiring_in_the_past_is_refused_on_the_form(operator_client, group):
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = operator_client.post(
        reverse("dashboard:link_create", args=[group.pk]), {"channel": Channel.POSTER, "expires_at": past}
    )
    assert response.status_code == 200
    assert response.context["link_form"].errors["expires_at"] == ["过期时间必须在未来。"]
    assert not InviteLink.objects.filter(group=group).exists()


def test_the_series_code_channel_cannot_be_picked(operator_client, group):
    response = operator_client.post(reverse("dashboard:link_create", args=[group.pk]), {"channel": Channel.SERIES_CODE})
    assert response.context["link_form"].errors["channel"]
    assert not InviteLink.objects.filter(group=group).exists()


def test_links_table_shows_the_funnel(viewer_client, link):
    InviteLink.objects.filter(pk=link.pk).update(open_count=12, sign_in_count=7, join_count=5)
    response = viewer_client.get(reverse("dashboard:group_detail", args=[link.group_id]))
    [shown] = response.context["links"]
    assert (shown.open_count, shown.sign_in_count, shown.join_count) == (12, 7, 5)
    assert "6月海报" in response.content.decode()


def test_revoke(operator_client, link):
    response = operator_client.post(reverse("dashboard:link_revoke", args=[link.pk]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    html = operator_client.get(reverse("dashboard:group_detail", args=[link.group_id])).content.decode()
    assert reverse("dashboard:link_revoke", args=[link.pk]) not in html  # no second revoke button


def test_my_link_is_made_once(operator_client, operator, group):
    url = reverse("dashboard:my_link", args=[group.pk])
    first = operator_client.post(url, follow=True)
    operator_client.post(url)
    link = InviteLink.objects.get(group=group, inviter=operator, is_personal=True)
    assert link.channel == Channel.OPERATOR
    assert first.redirect_chain[-1][0] == reverse("dashboard:group_detail", args=[group.pk])
    assert link.public_url in [str(m) for m in first.context["messages"]][0]


def test_qr_png_decodes_to_the_public_url(viewer_client, link):
    response = viewer_client.get(reverse("dashboard:link_qr_png", args=[link.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'attachment; filename="shequn-qr-{link.code}.png"'
    assert _decode(response.content) == [link.public_url]
    assert link.public_url.startswith("http://testserver/m/j/")


def test_qr_svg_is_an_svg_download(viewer_client, link):
    response = viewer_client.get(reverse("dashboard:link_qr_svg", args=[link.pk]))
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == f'attachment; filename="shequn-qr-{link.code}.svg"'
    assert b"<svg" in response.content


def test_poster_decodes_to_the_public_url(viewer_client, link):
    response = viewer_client.get(reverse("dashboard:link_poster", args=[link.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'attachment; filename="shequn-poster-{link.code}.png"'
    assert Image.open(io.BytesIO(response.content)).size == (750, 1334)
    assert _decode(response.content) == [link.public_url]


def test_poster_uses_the_group_cover(operator_client, link):
    image = Image.new("RGB", (800, 500), (250, 30, 30))  # a red cover
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    link.group.cover.save("cover.png", SimpleUploadedFile("cover.png", buf.getvalue()))
    response = operator_client.get(reverse("dashboard:link_poster", args=[link.pk]))
    poster = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert poster.getpixel((375, 100)) == (250, 30, 30)
    assert _decode(response.content) == [link.public_url]


def test_series_link_create_and_public_code(operator_client, series):
    response = operator_client.get(reverse("dashboard:series_detail", args=[series.pk]))
    public = response.context["public_link"]
    assert public.channel == Channel.SERIES_CODE
    qr = operator_client.get(reverse("dashboard:link_qr_png", args=[public.pk]))
    assert _decode(qr.content) == [public.public_url]
    operator_client.post(
        reverse("dashboard:series_link_create", args=[series.pk]), {"channel": Channel.OFFLINE, "label": "门店"}
    )
    assert InviteLink.objects.filter(series=series, channel=Channel.OFFLINE, label="门店").exists()


def test_a_refused_link_form_page_still_posts_back_to_the_detail_page(operator_client, link):
    group_url = reverse("dashboard:group_detail", args=[link.group_id])
    response = operator_client.post(reverse("dashboard:link_create", args=[link.group_id]), {"max_uses": 0})
    html = response.content.decode()
    assert response.context["link_form"].errors["max_uses"]
    assert f'name="next" value="{group_url}#links"' in html  # not the POST-only URL it was rendered from
