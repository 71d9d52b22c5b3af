"""Tests for groups.qr: QR codes and share posters decode back to the invite URL."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from groups import qr

URL = "https://example.test/j/AbC123xyz"
LONG_NAME = "阳光花园小区生鲜团购🍎每日新鲜直达第三群，欢迎邻居们进群一起拼单买菜买水果天天特价不停歇"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(autouse=True)
def _no_configured_font(monkeypatch):
    """Keep a developer's POSTER_FONT_PATH from leaking into font-lookup tests."""
    monkeypatch.delenv("POSTER_FONT_PATH", raising=False)


def _decode(png: bytes) -> list[str]:
    """Texts of all barcodes zxing finds in ``png``."""
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def _cover() -> Image.Image:
    """A busy landscape cover, so cropping and contrast are exercised."""
    img = Image.new("RGB", (1200, 800))
    draw = ImageDraw.Draw(img)
    for y in range(0, 800, 8):
        draw.rectangle((0, y, 1200, y + 8), fill=(200 - y // 5, 90 + y // 8, 60 + y // 6))
    draw.ellipse((450, 150, 750, 450), fill=(250, 210, 70))
    return img


def test_qr_png_decodes_to_url():
    png = qr.qr_png(URL)
    assert png.startswith(b"\x89PNG")
    assert _decode(png) == [URL]


def test_qr_png_respects_box_size_and_border():
    small = Image.open(io.BytesIO(qr.qr_png(URL, box_size=2, border=1)))
    large = Image.open(io.BytesIO(qr.qr_png(URL, box_size=10, border=4)))
    modules = small.width // 2 - 2
    assert large.width == (modules + 8) * 10


@pytest.mark.parametrize("with_cover", [False, True])
def test_poster_qr_decodes_to_url(with_cover):
    png = qr.poster_png(
        group_name=LONG_NAME,
        inviter_name="王阿姨",
        url=URL,
        cover=_cover() if with_cover else None,
        expires_at=datetime(2025, 6, 1, 4, 30, tzinfo=UTC),
    )
    img = Image.open(io.BytesIO(png))
    assert img.size == qr.POSTER_SIZE
    assert _decode(png) == [URL]


def test_poster_accepts_cover_path(tmp_path):
    path = tmp_path / "cover.png"
    _cover().convert("RGBA").save(path)
    png = qr.poster_png(group_name="水果团", inviter_name="Li", url=URL, cover=path)
    assert _decode(png) == [URL]
    png = qr.poster_png(group_name="水果团", inviter_name="Li", url=URL, cover=str(path))
    assert _decode(png) == [URL]


@pytest.mark.parametrize(
    "url",
    [
        "https://e.t/j",
        "https://e.t/j/A",
        URL,
        URL + "?utm_source=wechat&utm_medium=poster&x=" + "y" * 120,
    ],
)
def test_poster_qr_is_large_for_short_and_long_urls(url):
    # Worst layout case: 3-line title, long inviter, expiry line, tiny URL.
    png = qr.poster_png(
        group_name=LONG_NAME * 3,
        inviter_name="一个名字非常非常长的团长" * 3,
        url=url,
        expires_at=datetime(2025, 6, 1, 4, 30, tzinfo=UTC),
    )
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcode.text == url
    pos = barcode.position
    # zxing's corner points sit inside the finder patterns, hence the slack.
    assert pos.top_right.x - pos.top_left.x >= qr.QR_MIN_PX * 0.9


def test_qr_svg_is_svg_with_path_data():
    svg = qr.qr_svg(URL)
    root = ET.fromstring(svg)
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    paths = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "path"]
    assert paths and paths[0].get("d", "").startswith("M")


def test_find_cjk_font_returns_covering_font():
    path = qr.find_cjk_font()
    assert os.path.isfile(path)
    assert qr.font_covers_cjk(path)


def test_font_covers_cjk_false_for_latin_font():
    if not os.path.isfile(DEJAVU):
        pytest.skip("DejaVuSans not installed")
    assert qr.font_covers_cjk(DEJAVU) is False


def test_font_covers_cjk_false_for_missing_or_bogus_file(tmp_path):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    assert qr.font_covers_cjk(tmp_path / "missing.ttf") is False
    assert qr.font_covers_cjk(bogus) is False


def test_find_cjk_font_skips_non_cjk_explicit_font():
    if not os.path.isfile(DEJAVU):
        pytest.skip("DejaVuSans not installed")
    path = qr.find_cjk_font(DEJAVU)
    assert path != DEJAVU
    assert qr.font_covers_cjk(path)


def test_find_cjk_font_honours_env_var(monkeypatch):
    system = qr.find_cjk_font()
    monkeypatch.setattr(qr, "CJK_FONT_CANDIDATES", ("/nonexistent/a.ttc",))
    monkeypatch.setenv("POSTER_FONT_PATH", system)
    assert qr.find_cjk_font() == system


def test_find_cjk_font_raises_when_nothing_available(monkeypatch):
    monkeypatch.setattr(qr, "CJK_FONT_CANDIDATES", ("/nonexistent/a.ttc", "/nonexistent/b.ttf"))
    with pytest.raises(qr.MissingCJKFont) as excinfo:
        qr.find_cjk_font("/nonexistent.ttf")
    message = str(excinfo.value)
    for path in ("/nonexistent.ttf", "/nonexistent/a.ttc", "/nonexistent/b.ttf"):
        assert path in message
    assert "fonts-wqy-microhei" in message and "POSTER_FONT_PATH" in message
    assert isinstance(excinfo.value, RuntimeError)


def test_poster_raises_instead_of_drawing_boxes(monkeypatch):
    monkeypatch.setattr(qr, "CJK_FONT_CANDIDATES", ("/nonexistent/a.ttc",))
    with pytest.raises(qr.MissingCJKFont):
        qr.poster_png(group_name="水果团", inviter_name="Li", url=URL, font_path=DEJAVU)


def test_poster_text_uses_cjk_font(monkeypatch):
    used = []
    real = qr.find_cjk_font

    def spy(font_path=None):
        used.append(real(font_path))
        return used[-1]

    monkeypatch.setattr(qr, "find_cjk_font", spy)
    font_path = DEJAVU if os.path.isfile(DEJAVU) else None
    qr.poster_png(group_name=LONG_NAME, inviter_name="王阿姨", url=URL, font_path=font_path)
    assert used and qr.font_covers_cjk(used[0])


def test_expiry_text_uses_shanghai_time_for_aware_datetimes():
    assert qr.expiry_text(datetime(2025, 6, 1, 16, 30, tzinfo=UTC)) == "有效期至 2025-06-02 00:30"
    assert qr.expiry_text(datetime(2025, 6, 1, 16, 30)) == "有效期至 2025-06-01 16:30"


def test_wrap_text_lines_fit_and_keep_all_text():
    font = qr._font(qr.find_cjk_font(), 56)
    lines = qr.wrap_text("阳光花园小区生鲜团购 Fresh Market 每日新鲜直达，第三群", font, 400)
    assert all(font.getlength(line) <= 400 for line in lines)
    assert "".join(lines).replace(" ", "") == "阳光花园小区生鲜团购FreshMarket每日新鲜直达，第三群"
    assert not any(line.startswith("，") for line in lines)


def test_check_poster_font_ok_and_error(monkeypatch):
    from groups.checks import check_poster_font

    assert check_poster_font(None) == []
    monkeypatch.setattr(qr, "CJK_FONT_CANDIDATES", ("/nonexistent/a.ttc",))
    [error] = check_poster_font(None)
    assert error.id == "shequn.E001"
    assert "fonts-wqy-microhei" in error.hint
