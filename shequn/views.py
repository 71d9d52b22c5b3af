import posixpath

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static as static_url
from django.views import static
from django.views.decorators.cache import cache_control

from shops.tenancy import current_seat

from . import images


@cache_control(max_age=86400)
def favicon(request):  # noqa: ARG001 (a view's signature)
    """/favicon.ico, which browsers ask for on every site whatever the page links: the brand mark."""
    return redirect(static_url("favicon.svg"))


def home(request):
    """Operators land on their dashboard, members on their groups, visitors on the welcome page."""
    if request.user.is_authenticated:
        if current_seat(request) is not None:
            return redirect("dashboard:groups")
        return redirect("member:my_groups")
    return render(request, "home.html")


# Uploaded files are shequn.images' re-encoded images under random names; these headers make sure that
# even a file that got there another way (an older upload, a copied file) can never run as a page of this
# origin: only image extensions are served, always with the image type, never sniffed, and under a
# sandboxed policy that allows nothing. A web server serving /media/ itself must send the same (README).
# Under MEDIA_ROOT but never served here (groups' space photos and WeChat QR codes: groups/space_views.py).
PRIVATE_MEDIA_DIR = "private/"
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def media(request, path: str):
    extension = path.rpartition(".")[2].lower()
    if extension not in images.CONTENT_TYPES or posixpath.normpath(path).lstrip("/").startswith(PRIVATE_MEDIA_DIR):
        raise Http404  # private/: members-only files, served by their own app after a permission check
    response = static.serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Content-Type"] = images.CONTENT_TYPES[extension]
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_POLICY
    return response
