"""QR-code and share-poster rendering for group invite links.

Pure functions: no database access, no Django requirement (Django settings
are only consulted, if configured, for ``POSTER_FONT_PATH``).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import pathlib
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import qrcode
import qrcode.constants
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont, ImageOps

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Debian/Ubuntu package locations, most compact first. Tests monkeypatch this.
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)

# Poster geometry (phone proportions, 2x of a 375x667 viewport).
POSTER_SIZE = (750, 1334)
COVER_HEIGHT = 440
CARD_MARGIN = 36  # card inset from the poster edges
CARD_TOP = 360  # card overlaps the cover so the two read as one piece
CARD_PADDING = 44
QR_TARGET_PX = 400  # preferred width of the QR symbol (without quiet zone)
QR_MIN_PX = 360  # below this, phones scanning a screenshot start to struggle
QR_TILE_MAX_PX = 540  # symbol + quiet zone; bounds the layout for tiny symbols

BG_COLOUR = (244, 241, 236)
CARD_COLOUR = (255, 255, 255)
COVER_COLOUR = (46, 125, 91)  # muted green, used when no cover is supplied
TITLE_COLOUR = (33, 33, 33)
TEXT_COLOUR = (96, 96, 96)
MUTED_COLOUR = (150, 150, 150)
OFFER_COLOUR = (192, 57, 43)  # a campaign's price line, in the member pages' price red

# Characters that must not start a line (Chinese line-breaking rules).
_NO_LINE_START = set("，。、；：？！）》」』】〕…—,.;:?!)]}%")


class MissingCJKFont(RuntimeError):
    """No font able to render Chinese text was found."""


# --------------------------------------------------------------------------
# QR codes
# --------------------------------------------------------------------------


def _qr(url: str, *, box_size: int = 10, border: int = 4, image_factory=None) -> qrcode.QRCode:
    """Build a fitted QRCode for ``url`` with error correction M."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=border,
        image_factory=image_factory,
    )
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def _qr_image(url: str, *, box_size: int = 10, border: int = 4) -> Image.Image:
    """Return the QR code as a 1-bit-looking RGB Pillow image."""
    qr = _qr(url, box_size=box_size, border=border)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def qr_png(url: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """Return PNG bytes of a QR code encoding exactly ``url``."""
    buf = io.BytesIO()
    _qr_image(url, box_size=box_size, border=border).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def qr_svg(url: str) -> bytes:
    """Return a standalone SVG document (UTF-8 bytes) of a QR code for ``url``.

    Uses the single-path SVG factory with a white background, so the code
    still scans when shown on a dark page.
    """
    img = _qr(url, image_factory=qrcode.image.svg.SvgPathFillImage).make_image()
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------

# An unassigned code point: every font draws it as its .notdef glyph.
_NOTDEF_PROBE = "\U0010fffd"


def _glyph_signature(font: ImageFont.FreeTypeFont, char: str) -> tuple:
    """Size, bbox and pixels of ``char`` as drawn by ``font``."""
    mask = font.getmask(char)
    return mask.size, mask.getbbox(), bytes(mask)


def _draws_as_notdef(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """True if ``font`` has no glyph for ``char`` (it would draw a box or nothing)."""
    return _glyph_signature(font, char) == _glyph_signature(font, _NOTDEF_PROBE)


def font_covers_cjk(path: str | os.PathLike[str]) -> bool:
    """True only if the font at ``path`` loads and has real glyphs for "社群".

    A font lacking the glyphs renders both characters as its .notdef box, so
    each must differ from the .notdef rendering, be non-empty, and the two
    must differ from each other.
    """
    try:
        font = ImageFont.truetype(str(path), 48)
    except (OSError, ValueError):
        return False
    sigs = []
    for char in "社群":
        sig = _glyph_signature(font, char)
        if sig[1] is None or _draws_as_notdef(font, char):
            return False
        sigs.append(sig)
    return sigs[0] != sigs[1]


def _configured_font_paths(font_path: str | None) -> list[tuple[str, str]]:
    """Explicitly configured font paths with a label saying where each came from."""
    configured = []
    if font_path:
        configured.append((str(font_path), "font_path argument"))
    env_path = os.environ.get("POSTER_FONT_PATH")
    if env_path:
        configured.append((env_path, "POSTER_FONT_PATH environment variable"))
    # Django is optional here: the module must work in plain scripts and tests.
    try:
        from django.conf import settings

        if settings.configured:
            setting_path = getattr(settings, "POSTER_FONT_PATH", None)
            if setting_path:
                configured.append((str(setting_path), "settings.POSTER_FONT_PATH"))
    except Exception:  # any Django import/config problem means "no setting"
        logger.debug(
            "Django settings unavailable; ignoring settings.POSTER_FONT_PATH",
            exc_info=True,
        )
    return configured


def find_cjk_font(font_path: str | None = None) -> str:
    """Return the path of an existing font that really renders Chinese.

    Order: ``font_path``; ``POSTER_FONT_PATH`` env var; Django setting
    ``POSTER_FONT_PATH``; known Debian locations. A configured path that is
    missing or lacks CJK glyphs is logged and skipped. Never returns Pillow's
    bitmap default font; raises ``MissingCJKFont`` when nothing qualifies.
    """
    configured = _configured_font_paths(font_path)
    candidates = configured + [(p, "system default") for p in CJK_FONT_CANDIDATES]
    tried = []
    for path, source in candidates:
        if not os.path.isfile(path):
            reason = "not found"
        elif not font_covers_cjk(path):
            reason = "no Chinese glyphs"
        else:
            return path
        tried.append(f"{path} ({source}: {reason})")
        if source != "system default":
            logger.warning("Poster font %s from %s skipped: %s", path, source, reason)
    raise MissingCJKFont(
        "No font able to render Chinese was found for share posters. Tried:\n  "
        + "\n  ".join(tried)
        + "\nFix: `apt-get install fonts-wqy-microhei`, or set POSTER_FONT_PATH "
        "(environment variable or Django setting) to a .ttf/.ttc/.otf with CJK glyphs.\n"
        "未找到可显示中文的字体，无法生成分享海报。请执行 `apt-get install fonts-wqy-microhei`，"
        "或将 POSTER_FONT_PATH（环境变量或 Django 设置）指向包含中文字形的字体文件。"
    )


@functools.lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Load (and cache) a TrueType font at ``size`` px."""
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=4096)
def _renderable(path: str, size: int, char: str) -> bool:
    """True if ``char`` from font ``path`` would draw as a real glyph."""
    if char.isspace() or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return True  # zero-width/combining marks legitimately draw nothing
    return not _draws_as_notdef(_font(path, size), char)


def _clean_text(text: str, path: str, size: int) -> str:
    """Drop characters (typically emoji) the font would draw as boxes."""
    kept = "".join(c for c in text if _renderable(path, size, c))
    return " ".join(kept.split())  # also closes gaps left by dropped characters


# --------------------------------------------------------------------------
# Text layout
# --------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Split into break units: each CJK char alone, Latin words kept whole."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace():
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" ")
        elif char.isascii() and char.isalnum():
            word += char
        else:
            if word:
                tokens.append(word)
                word = ""
            if char in _NO_LINE_START and tokens and tokens[-1] != " ":
                tokens[-1] += char  # keep closing punctuation with what precedes it
            else:
                tokens.append(char)
    if word:
        tokens.append(word)
    return tokens


def _split_long(token: str, font: ImageFont.FreeTypeFont, max_width: int) -> Iterable[str]:
    """Break a token wider than ``max_width`` into pieces that fit."""
    piece = ""
    for char in token:
        if piece and font.getlength(piece + char) > max_width:
            yield piece
            piece = char
        else:
            piece += char
    if piece:
        yield piece


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy line wrap; every returned line fits within ``max_width`` px."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        pieces = [token] if font.getlength(token) <= max_width else _split_long(token, font, max_width)
        for piece in pieces:
            if font.getlength(line + piece) <= max_width:
                line += piece
            else:
                if line.strip():
                    lines.append(line.rstrip())
                line = piece.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    """Trim ``line`` and append "…" so the result fits ``max_width``."""
    while line and font.getlength(line + "…") > max_width:
        line = line[:-1]
    return line.rstrip() + "…"


def _fit_title(text: str, path: str, max_width: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """Pick the largest title size that fits in two lines, else three with an ellipsis."""
    for size in (56, 50, 44):
        font = _font(path, size)
        lines = wrap_text(text, font, max_width)
        if len(lines) <= 2:
            return font, lines
    font = _font(path, 40)
    lines = wrap_text(text, font, max_width)
    if len(lines) > 3:
        lines = lines[:2] + [_ellipsize(lines[2], font, max_width)]
    return font, lines


def _fit_title_within(text: str, path: str, max_width: int, room: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest title size whose lines (at most two) fit `room` px high, else one ellipsized line."""
    for size in (56, 50, 44, 40, 36):
        font = _font(path, size)
        lines = wrap_text(text, font, max_width)
        if len(lines) <= 2 and len(lines) * _line_height(font, 1.32) <= room:
            return font, lines
    font = _font(path, 36)
    return font, [_ellipsize(text, font, max_width) if font.getlength(text) > max_width else text]


def _line_height(font: ImageFont.FreeTypeFont, spacing: float = 1.3) -> int:
    """Line advance for ``font`` in px."""
    return round(font.size * spacing)


# --------------------------------------------------------------------------
# Poster
# --------------------------------------------------------------------------


def expiry_text(expires_at: datetime) -> str:
    """Return "有效期至 YYYY-MM-DD HH:MM", in Beijing time when ``expires_at`` is aware."""
    if expires_at.tzinfo is not None and expires_at.utcoffset() is not None:
        expires_at = expires_at.astimezone(SHANGHAI)
    return f"有效期至 {expires_at:%Y-%m-%d %H:%M}"


def _load_cover(cover: Image.Image | str | pathlib.Path) -> Image.Image:
    """Open ``cover`` as an upright RGB image, flattening transparency onto the cover colour."""
    if isinstance(cover, Image.Image):
        img = cover
    else:
        img = Image.open(cover)
        # Covers are downscaled at upload (shequn.images); one stored before that is refused, not decoded,
        # when its header declares more pixels than an upload may have.
        if img.width * img.height > Image.MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(f"cover of {img.width}x{img.height} pixels")
        # JPEG only: decode at reduced scale, big phone photos are ~12 MP.
        img.draft("RGB", (POSTER_SIZE[0] * 2, COVER_HEIGHT * 2))
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        base = Image.new("RGBA", img.size, COVER_COLOUR + (255,))
        img = Image.alpha_composite(base, img)
    return img.convert("RGB")


def _draw_cover(poster: Image.Image, cover: Image.Image | str | pathlib.Path | None) -> None:
    """Fill the top area with ``cover`` (centre-cropped) or a plain colour block."""
    size = (POSTER_SIZE[0], COVER_HEIGHT)
    if cover is None:
        block = Image.new("RGB", size, COVER_COLOUR)
        # Two soft circles so the empty block does not look like a rendering error.
        overlay = Image.new("RGBA", size, (0, 0, 0, 0))
        d = ImageDraw.Draw(overlay)
        d.ellipse((470, -160, 900, 270), fill=(255, 255, 255, 28))
        d.ellipse((-140, 150, 230, 520), fill=(255, 255, 255, 20))
        block = Image.alpha_composite(block.convert("RGBA"), overlay).convert("RGB")
    else:
        # Bias the crop upward: faces and titles tend to sit in the upper part.
        block = ImageOps.fit(_load_cover(cover), size, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    poster.paste(block, (0, 0))


def _qr_tile(url: str) -> tuple[Image.Image, int]:
    """QR code plus its 4-module quiet zone; returns (image, quiet zone px).

    The symbol itself is at least QR_MIN_PX wide and at most QR_TARGET_PX
    (QR_TILE_MAX_PX with the quiet zone). Modules are a whole number of pixels
    for crisp edges; only when that cannot reach QR_MIN_PX is it resampled.
    """
    qr = _qr(url, box_size=1, border=4)
    n = qr.modules_count
    box = max(1, min(QR_TARGET_PX // n, QR_TILE_MAX_PX // (n + 8)))
    if box * n >= QR_MIN_PX:
        return _qr_image(url, box_size=box, border=4), 4 * box
    img = _qr_image(url, box_size=1, border=4)
    side = round((n + 8) * QR_TARGET_PX / n)
    return img.resize((side, side), Image.Resampling.NEAREST), round(4 * QR_TARGET_PX / n)


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    y: int,
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
    **kwargs,
) -> None:
    """Draw ``text`` horizontally centred on the poster with its top at ``y``."""
    draw.text((POSTER_SIZE[0] // 2, y), text, font=font, fill=fill, anchor="mt", **kwargs)


def poster_png(
    *,
    group_name: str,
    inviter_name: str,
    url: str,
    cover: Image.Image | str | pathlib.Path | None = None,
    expires_at: datetime | None = None,
    font_path: str | None = None,
    invite_words: str = "邀请你加入",
    call: str = "长按识别二维码加入",
    offer: str = "",
) -> bytes:
    """Render a 750x1334 share poster PNG whose QR code decodes to ``url``.

    A group's poster invites (``invite_words`` after the sharer's name, ``call`` above the QR); a
    campaign's sells: its own words, and ``offer`` (prices and the mechanic: ¥45 原价 ¥58 · 3 人团) in
    the accent colour under the sharer's line.

    Text uses ``find_cjk_font(font_path)``, so Chinese never renders as boxes
    (raises ``MissingCJKFont`` instead). The QR is at least QR_MIN_PX wide and
    the title is shrunk/ellipsized (at most 3 lines) so it never overlaps the
    QR: the worst case (3 title lines, expiry line, QR_TILE_MAX_PX tile) fits.
    """
    path = find_cjk_font(font_path)
    width, height = POSTER_SIZE
    poster = Image.new("RGB", POSTER_SIZE, BG_COLOUR)
    _draw_cover(poster, cover)

    # White card holding all text and the QR code.
    card = (CARD_MARGIN, CARD_TOP, width - CARD_MARGIN, height - CARD_MARGIN)
    shadow = Image.new("RGBA", POSTER_SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle(
        (card[0], card[1] + 6, card[2], card[3] + 6), radius=28, fill=(0, 0, 0, 26)
    )
    poster = Image.alpha_composite(poster.convert("RGBA"), shadow).convert("RGB")
    draw = ImageDraw.Draw(poster)
    draw.rounded_rectangle(card, radius=28, fill=CARD_COLOUR)

    text_width = card[2] - card[0] - 2 * CARD_PADDING
    small = _font(path, 28)

    # Bottom-up: the QR block is anchored to the bottom of the card so its
    # position is stable whatever the title length.
    y_bottom = card[3] - CARD_PADDING
    if expires_at is not None:
        y_bottom -= _line_height(small, 1.0)
        _draw_centered(draw, y_bottom, expiry_text(expires_at), small, MUTED_COLOUR)
        y_bottom -= 12
    y_bottom -= _line_height(small, 1.0)
    _draw_centered(draw, y_bottom, call, small, TEXT_COLOUR)
    # The quiet zone is white like the card, so it doubles as the spacing.
    tile, quiet = _qr_tile(url)
    qr_top = y_bottom - tile.height
    poster.paste(tile, ((width - tile.width) // 2, qr_top))

    # Top-down: title, then the inviter line. Short titles leave spare room;
    # give a third of it to the top so the text does not hug the card edge.
    title = _clean_text(group_name, path, 56) or "社群"
    inviter_font = _font(path, 30)
    offer_font = _font(path, 34)
    offer = _clean_text(offer, path, 34)
    if offer and offer_font.getlength(offer) > text_width:
        offer = _ellipsize(offer, offer_font, text_width)
    offer_height = 12 + _line_height(offer_font, 1.0) if offer else 0
    if offer:  # the offer line takes room from the title, never from the QR code
        room = qr_top + quiet - card[1] - 3 * CARD_PADDING - 8 - _line_height(inviter_font, 1.0) - offer_height
        title_font, lines = _fit_title_within(title, path, text_width, room)
    else:
        title_font, lines = _fit_title(title, path, text_width)
    text_height = len(lines) * _line_height(title_font, 1.32) + 8 + _line_height(inviter_font, 1.0) + offer_height
    spare = qr_top + quiet - (card[1] + CARD_PADDING + text_height) - 2 * CARD_PADDING
    y = card[1] + CARD_PADDING + max(0, spare) // 3
    for line in lines:
        _draw_centered(
            draw,
            y,
            line,
            title_font,
            TITLE_COLOUR,
            stroke_width=1,
            stroke_fill=TITLE_COLOUR,
        )
        y += _line_height(title_font, 1.32)
    y += 8

    inviter = _clean_text(inviter_name, path, 30) or "好友"
    invite_line = f"{inviter} {invite_words}"
    if inviter_font.getlength(invite_line) > text_width:
        inviter = _ellipsize(
            inviter,
            inviter_font,
            text_width - int(inviter_font.getlength(f" {invite_words}")),
        )
        invite_line = f"{inviter} {invite_words}"
    _draw_centered(draw, y, invite_line, inviter_font, TEXT_COLOUR)
    y += _line_height(inviter_font, 1.0)
    if offer:
        y += 12
        _draw_centered(draw, y, offer, offer_font, OFFER_COLOUR, stroke_width=1, stroke_fill=OFFER_COLOUR)
        y += _line_height(offer_font, 1.0)

    # Thin divider halfway between the text and the visible QR symbol.
    divider_y = (y + qr_top + quiet) // 2
    draw.line(
        (card[0] + CARD_PADDING, divider_y, card[2] - CARD_PADDING, divider_y),
        fill=(232, 232, 232),
        width=2,
    )

    buf = io.BytesIO()
    poster.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
