"""Redis access for the leaderboards: the client, and the Lua scripts (lua/*.lua) read once and registered
once per client with redis-py's `register_script` (EVALSHA, loaded again by redis-py if Redis forgot it)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from .boards import TIE_LEN

_LUA = Path(__file__).parent / "lua"
SCRIPT_NAMES = ("apply", "apply_many", "unapply", "retie", "swap", "top", "rank")


def _sources() -> dict[str, str]:
    """Each script with the shared functions (lua/lib.lua) in front of it."""
    lib = (_LUA / "lib.lua").read_text()
    if f"local TL = {TIE_LEN}\n" not in lib:  # the scripts cut member strings at the tie's length
        raise RuntimeError(f"lua/lib.lua must set TL to TIE_LEN ({TIE_LEN})")
    return {name: lib + (_LUA / f"{name}.lua").read_text() for name in SCRIPT_NAMES}


_SOURCES = _sources()
_registered: dict[tuple[int, str], object] = {}


def live_enabled() -> bool:
    return bool(settings.REDIS_URL)


def redis_client():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def script(name: str):
    """The named Lua script, registered with the current client's connection pool once."""
    client = redis_client()
    cache_key = (id(client.connection_pool), name)
    registered = _registered.get(cache_key)
    if registered is None:
        registered = _registered[cache_key] = client.register_script(_SOURCES[name])
    return registered


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
