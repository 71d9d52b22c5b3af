"""Re-store the uploads made before shequn.images existed, the way that gate stores new ones.

Run once after upgrading (README, "Deploying"). A file the gate already stored (a random name) is left
alone, so the command may run again. A stored file that is not an image the gate takes (an HTML page, a
decompression bomb, a truncated file) leaves its row: an optional cover, avatar or check-in photo is
cleared (a check-in is the member's day: it stays, without its photo and thumbnail), a product image,
after-sales or swap photo row is deleted; each is listed. A re-stored product image or check-in photo gets
its thumbnail made again from the clean photo. A file missing from storage is only listed
(a volume not mounted must not cost the rows).
"""

import re

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from campaigns.models import CheckIn, SwapPhoto
from groups.models import Group
from orders.models import CasePhoto, ProductImage
from shequn import images

CLEAN_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|gif)$")
# (model, field, largest size shown, whether the row can live without the file)
UPLOADS = [
    (Group, "cover", images.COVER, True),
    (User, "avatar", images.AVATAR, True),
    (ProductImage, "image", images.PHOTO, False),
    (CasePhoto, "image", images.PHOTO, False),
    (SwapPhoto, "image", images.PHOTO, False),  # a swap item's photo, in private storage
    (CheckIn, "photo", images.PHOTO, True),
]
THUMBNAILED = (ProductImage, CheckIn)  # rows whose `thumbnail` is made from their photo


class Command(BaseCommand):
    help = "Re-encode uploads stored before shequn.images (random names, no metadata, shown sizes)."

    def handle(self, *args, **options):
        for model, field, bounds, optional in UPLOADS:
            for row in model.objects.exclude(**{field: ""}).order_by("pk").iterator():
                stored = getattr(row, field)
                old = stored.name
                if CLEAN_NAME.match(old.rsplit("/", 1)[-1]):
                    continue
                label = f"{model._meta.label} {row.pk} {field} {old}"
                try:
                    with stored.open("rb") as f:
                        data = f.read()
                except OSError:
                    self.stdout.write(f"missing, left as it is: {label}")
                    continue
                try:
                    clean = images.clean_image(ContentFile(data, name=old), bounds=bounds)
                except ValidationError as refused:
                    self._drop(row, field, optional)
                    self.stdout.write(f"not an image ({refused.messages[0]}), removed: {label}")
                else:
                    self._replace(row, field, clean)
                    self.stdout.write(f"re-encoded: {label} -> {getattr(row, field).name}")
                stored.storage.delete(old)

    @transaction.atomic
    def _replace(self, row, field: str, clean: ContentFile) -> None:
        getattr(row, field).save(clean.name, clean, save=False)
        fields = [field]
        if isinstance(row, THUMBNAILED):  # the thumbnail is made again from the clean photo
            old_thumbnail = row.thumbnail.name
            thumbnail = images.clean_image(clean, bounds=images.THUMBNAIL)
            row.thumbnail.save(thumbnail.name, thumbnail, save=False)
            if old_thumbnail:
                row.thumbnail.storage.delete(old_thumbnail)
            fields.append("thumbnail")
        row.save(update_fields=fields)

    @transaction.atomic
    def _drop(self, row, field: str, optional: bool) -> None:
        if optional:
            fields = [field]
            if isinstance(row, THUMBNAILED) and row.thumbnail.name:
                row.thumbnail.storage.delete(row.thumbnail.name)
                row.thumbnail, fields = "", [field, "thumbnail"]
            setattr(row, field, "")
            row.save(update_fields=fields)
            return
        if isinstance(row, ProductImage) and row.thumbnail.name:
            row.thumbnail.storage.delete(row.thumbnail.name)
        row.delete()
