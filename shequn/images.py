"""Uploaded images, for every app that takes them: the one gate between a client's file and our media.

Guarantees of `clean_image`: what is stored is never the client's bytes nor the client's name. The file is
decoded by Pillow only when its declared size is within MAX_IMAGE_PIXELS (a decompression bomb is a field
error, never a 500), re-encoded in the detected format (JPEG, PNG, WebP; GIF keeps its first frame),
which drops appended payloads, EXIF (GPS), ICC and text chunks, downscaled once to the largest size the
product shows for that use, and named `<128 random bits>.<format's extension>`, so media can only ever
be served as an image.
"""

import secrets
import warnings
from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Largest box each use is shown in (CSS px × 2 for sharp phone screens); the stored file is no larger.
PHOTO = (1600, 1600)  # product gallery, after-sales evidence: opened full screen
COVER = (1500, 1500)  # group cover: the phone page header and the poster's 750 px wide band
AVATAR = (320, 320)
THUMBNAIL = (360, 360)  # product lists and the checkout

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def clean_image(upload, *, bounds: tuple[int, int] = PHOTO) -> ContentFile:
    """The upload decoded, checked, stripped and downscaled into `bounds`; a ValidationError when refused."""
    if upload.size > settings.MAX_IMAGE_UPLOAD_BYTES:
        raise ValidationError(
            _("图片太大（%(size)s），请上传不超过 %(max)s 的图片。")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(settings.MAX_IMAGE_UPLOAD_BYTES)}
        )
    unreadable = ValidationError(_("无法识别的图片文件，请上传 JPG、PNG 或 WebP 图片。"))
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                # Phones save multi-picture JPEGs (MPO); the first picture is the photo, stored as a JPEG.
                kind = "JPEG" if image.format == "MPO" else image.format
                if kind not in EXTENSIONS:
                    raise ValidationError(_("不支持的图片格式 %(kind)s。") % {"kind": kind})
                # Checked on the header, before any pixel is decoded (Pillow's own guard stops twice this in open).
                if image.width * image.height > settings.MAX_IMAGE_PIXELS:
                    raise _too_many_pixels()
                image.draft("RGB", bounds)  # JPEG: decode at 1/2–1/8 scale when that still covers bounds
                image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF we drop carried
                image.thumbnail(bounds, Image.Resampling.LANCZOS)
                data = _encode(image, kind)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise unreadable from None
    finally:
        upload.seek(0)
    return ContentFile(data, name=f"{secrets.token_hex(16)}.{EXTENSIONS[kind]}")


def _too_many_pixels() -> ValidationError:
    limit = f"{settings.MAX_IMAGE_PIXELS / 1_000_000:g}"
    return ValidationError(_("图片像素过多，请上传不超过 %(limit)s 百万像素的图片。") % {"limit": limit})


def _encode(image: Image.Image, kind: str) -> bytes:
    """Re-encode in `kind` with nothing but pixels (Pillow copies no metadata unless asked)."""
    out = BytesIO()
    if kind == "JPEG":
        image = image if image.mode in ("RGB", "L") else image.convert("RGB")
        image.save(out, format="JPEG", quality=85, optimize=True)
    elif kind == "GIF":
        image.save(out, format="GIF")  # the first frame only
    elif kind == "WEBP":
        image = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        image.save(out, format="WEBP", quality=85)
    else:
        image = image if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()
