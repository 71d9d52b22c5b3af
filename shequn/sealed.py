"""Secrets at rest: merchant keys and app secrets that operators enter are stored sealed, never in clear.

`seal` turns a dict of secret values into one Fernet token (AES-128-CBC + HMAC-SHA256, from the
`cryptography` package); `unseal` reverses it. Keys come from CREDENTIALS_KEYS (comma-separated Fernet
keys, the first seals, all unseal: rotate by putting a new key first); without it a key is derived from
SECRET_KEY, so rotating SECRET_KEY then means entering the secrets again (README, Configuration).

A value may instead be a reference to the environment, "env:NAME": it is stored as written and read
from os.environ[NAME] when used, so an operator can keep a key out of the database altogether.
"""

import base64
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_PREFIX = "env:"


class SealError(Exception):
    """A sealed value cannot be opened (wrong or rotated key), or a referenced variable is missing."""


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in getattr(settings, "CREDENTIALS_KEYS", []) if key.strip()]
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shequn-credentials").derive(
            settings.SECRET_KEY.encode()
        )
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"CREDENTIALS_KEYS holds an invalid Fernet key: {exc}") from None


def seal(values: dict[str, str]) -> str:
    """One token for a dict of secret values (empty dict: empty string)."""
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SealError("the stored secrets cannot be opened with CREDENTIALS_KEYS / SECRET_KEY") from None


def is_env_reference(value: str) -> bool:
    return value.startswith(ENV_PREFIX) and len(value) > len(ENV_PREFIX)


def resolve(value: str) -> str:
    """The secret itself: a stored value, or the environment variable an "env:NAME" reference names."""
    if not is_env_reference(value):
        return value
    name = value[len(ENV_PREFIX) :]
    try:
        return os.environ[name]
    except KeyError:
        raise SealError(f"environment variable {name} is not set") from None
