"""Shared set-up of the group-space tests: a group with a person in every role, and images."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from groups import services
from groups.models import MemberRole
from tests.factories import UserFactory

ROLES = (MemberRole.OWNER, MemberRole.ADMIN, MemberRole.CORE, MemberRole.ACTIVE, MemberRole.MEMBER)


def photo(size=(2400, 1800), name="IMG_0001.JPG", exif=True) -> SimpleUploadedFile:
    """A phone photo with GPS in its EXIF."""
    image = Image.new("RGB", size, (200, 120, 60))
    out = BytesIO()
    extra = {}
    if exif:
        info = Image.Exif()
        info[0x010F] = "PhoneMaker"
        info[0x8825] = {2: (31.0, 14.0, 0.0)}
        extra["exif"] = info.tobytes()
    image.save(out, format="JPEG", quality=90, **extra)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("x.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg")


def member_in(group, role=MemberRole.MEMBER, **user):
    person = UserFactory(**user)
    services.add_member(group=group, user=person, by=None, role=role)
    return person
