"""Share posters, rendered once per set of inputs and then answered from the cache.

A poster is a pure function of its text, its URL, its expiry and the stored cover (whose name is random
and changes with every upload), so those make the cache key: a poster stays cached until one of them
changes. Requests that arrive while the same poster is being drawn wait for it instead of decoding the
cover again, so a burst of shares costs one render, not one per request.
"""

import hashlib
import json
import logging
import time
from datetime import datetime

from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from PIL import Image

from . import qr

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600
RENDER_SECONDS = 20  # longer than any render takes; a renderer that died frees the key after it


def poster_png(
    *,
    group_name: str,
    inviter_name: str,
    url: str,
    expires_at: datetime | None = None,
    cover: FieldFile | None = None,
    **words: str,
) -> bytes:
    """The poster PNG (groups.qr.poster_png) from the cache, rendered by one request at a time per inputs.
    `words`: a campaign's own wording (invite_words, call, offer), passed on to groups.qr.poster_png."""
    inputs = [group_name, inviter_name, url, expires_at.isoformat() if expires_at else "", cover.name if cover else ""]
    inputs += [f"{name}={words[name]}" for name in sorted(words)]
    key = "poster:" + hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
    text = {"group_name": group_name, "inviter_name": inviter_name, "url": url, "expires_at": expires_at, **words}
    png = cache.get(key)
    if png is not None:
        return png
    claimed = cache.add(f"{key}:rendering", 1, timeout=RENDER_SECONDS)
    if claimed is None:  # the cache (Redis) is down: draw it here, uncached
        return _render(text, cover)
    if claimed:
        try:
            # Another request may have drawn it and freed the key between our first look and the claim.
            png = cache.get(key)
            if png is None:
                png = _render(text, cover)
                cache.set(key, png, timeout=CACHE_SECONDS)
        finally:
            cache.delete(f"{key}:rendering")
        return png
    deadline = time.monotonic() + RENDER_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        png = cache.get(key)
        if png is not None:
            return png
    return _render(text, cover)  # the request drawing it gave up; draw it here rather than fail


def _render(text: dict, cover: FieldFile | None) -> bytes:
    if cover:
        try:
            with cover.open("rb") as cover_file:
                return qr.poster_png(cover=cover_file, **text)
        except (OSError, Image.DecompressionBombError):  # a missing or unusable cover must not cost the poster
            logger.warning("Cover %s unusable; poster drawn without it", cover.name, exc_info=True)
    return qr.poster_png(**text)
