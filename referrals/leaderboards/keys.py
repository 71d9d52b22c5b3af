"""Redis key names of the leaderboards, all under `<CACHE_KEY_PREFIX>:lb` (the layout is in the package's doc)."""

from __future__ import annotations

from django.conf import settings

_BITMAP_BITS = 20


def prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'shequn'}:lb"


def names_key(shop_id: int) -> str:
    return f"{prefix()}:{shop_id}:names"


def registry_key(shop_id: int) -> str:
    return f"{prefix()}:{shop_id}:boards"


def rebuilding_key(shop_id: int) -> str:
    return f"{prefix()}:{shop_id}:rebuilding"


def applied_bit(event_id: int) -> tuple[str, int]:
    return f"{prefix()}:applied:{event_id >> _BITMAP_BITS}", event_id & ((1 << _BITMAP_BITS) - 1)
