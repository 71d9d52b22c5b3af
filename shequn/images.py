"""Uploaded images: checked by Pillow, size-limited, thumbnails made. Shared by every app that takes photos."""

from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def validate_image(upload) -> None:
    """Refuse files over MAX_IMAGE_UPLOAD_BYTES and anything Pillow cannot read as a real image."""
    if upload.size > settings.MAX_IMAGE_UPLOAD_BYTES:
        raise ValidationError(
            _("图片太大（%(size)s），请上传不超过 %(max)s 的图片。")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(settings.MAX_IMAGE_UPLOAD_BYTES)}
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError(_("无法识别的图片文件，请上传 JPG、PNG 或 WebP 图片。")) from None
    finally:
        upload.seek(0)
    if kind not in ALLOWED_FORMATS:
        raise ValidationError(_("不支持的图片格式 %(kind)s。") % {"kind": kind})


def make_thumbnail(upload, *, size: tuple[int, int] = (360, 360)) -> ContentFile:
    """A JPEG thumbnail no larger than `size`, keeping the aspect ratio."""
    upload.seek(0)
    with Image.open(upload) as image:
        image = image.convert("RGB")
        image.thumbnail(size)
        out = BytesIO()
        image.save(out, format="JPEG", quality=85)
    upload.seek(0)
    return ContentFile(out.getvalue(), name="thumb.jpg")
