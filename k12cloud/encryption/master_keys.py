"""The master keys, from ENCRYPTION_MASTER_KEYS: `id:base64key,id:base64key`.

The first key is current (it wraps new and re-wrapped data keys); the others only unwrap, so a
master key is replaced without downtime: put the new one first, run
`manage.py encryption_keys rotate-master`, then drop the old one. Ids name keys in the
database (`OrganizationDataKey.master_key_id`); key material is never logged or echoed in errors.

No Django models here: the settings modules import this to fail fast on a malformed value.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

VARIABLE = "ENCRYPTION_MASTER_KEYS"
KEY_BYTES = 32  # AES-256
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The fixed key of local and test settings. Production refuses it (settings.production).
DEVELOPMENT_KEY_ID = "dev"
DEVELOPMENT_MASTER_KEYS = f"{DEVELOPMENT_KEY_ID}:" + base64.b64encode(
    b"k12cloud-dev-only-master-key-32b"
).decode("ascii")


@dataclass(frozen=True)
class MasterKeys:
    current_id: str
    keys: dict[str, bytes]

    def __repr__(self) -> str:  # never the key material
        return f"MasterKeys(current_id={self.current_id!r}, ids={list(self.keys)!r})"

    def get(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise ImproperlyConfigured(
                f"Master key {key_id!r} is not in {VARIABLE}; it is needed to unwrap data keys "
                "wrapped under it. Add it back (after the current key) or restore it."
            ) from None


def parse_master_keys(raw: str, *, variable: str = VARIABLE) -> MasterKeys:
    """Parse and check the variable; errors name the variable and the entry, never the key."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise ImproperlyConfigured(f"The environment variable {variable} is required but not set.")
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, separator, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not separator or not _ID.match(key_id):
            raise ImproperlyConfigured(
                f"{variable} entry {position} must be id:base64key, with an id of letters, "
                "digits, - or _."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"{variable} names master key {key_id!r} twice.")
        try:
            material = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                f"{variable}: master key {key_id!r} is not valid base64."
            ) from None
        if len(material) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"{variable}: master key {key_id!r} must be {KEY_BYTES} random bytes "
                f"(base64 of `openssl rand 32`), not {len(material)}."
            )
        keys[key_id] = material
    return MasterKeys(current_id=next(iter(keys)), keys=keys)


@lru_cache(maxsize=4)
def _parsed(raw: str) -> MasterKeys:
    return parse_master_keys(raw)


def master_keys() -> MasterKeys:
    """The configured master keys (parsed once per distinct setting value)."""
    from django.conf import settings

    return _parsed(settings.ENCRYPTION_MASTER_KEYS)
