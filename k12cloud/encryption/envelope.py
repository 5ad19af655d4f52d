"""Encrypting one value: the versioned envelope, and blind indexes.

Envelope (text): `k12e1:<data key version>:<base64url(nonce || AES-256-GCM ciphertext+tag)>`.
The associated data binds the ciphertext to its table and column, the row's organization and
the key version, so a value copied to another column, organization or version header fails
to decrypt instead of reading as someone else's data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from k12cloud.encryption.keys import (
    NONCE_BYTES,
    DecryptionFailed,
    Purpose,
    current_key,
    key_version,
)

PREFIX = "k12e1"
# a blind index never looks like this (it is 64 hex digits): matches nothing
NO_MATCH = "-"


@dataclass(frozen=True, slots=True)
class Sealed:
    """An envelope as stored; shown as a placeholder, never decrypted implicitly."""

    envelope: str

    def __str__(self) -> str:
        return "[encrypted]"

    @property
    def key_version(self) -> int:
        return parse(self.envelope)[0]


def _aad(context: str, organization_id: int, version: int) -> bytes:
    return f"{PREFIX}|{context}|{organization_id}|{version}".encode()


def parse(envelope: str) -> tuple[int, bytes]:
    prefix, _, rest = envelope.partition(":")
    version, _, payload = rest.partition(":")
    if prefix != PREFIX or not version.isdigit() or not payload:
        raise DecryptionFailed("The stored value is not an encrypted envelope.")
    try:
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except ValueError:
        raise DecryptionFailed("The stored envelope is not valid base64.") from None
    return int(version), blob


def seal(organization_id: int, context: str, plaintext: str) -> str:
    """Encrypt under the organization's current data key (created on first use)."""
    key = current_key(organization_id, Purpose.DATA)
    assert key is not None  # create=True
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.material).encrypt(
        nonce, plaintext.encode(), _aad(context, organization_id, key.version)
    )
    payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii").rstrip("=")
    return f"{PREFIX}:{key.version}:{payload}"


def unseal(organization_id: int, context: str, envelope: str) -> str:
    """Decrypt; raises KeyDestroyed after crypto-shredding, DecryptionFailed if it does not
    authenticate for this organization and column."""
    version, blob = parse(envelope)
    key = key_version(organization_id, Purpose.DATA, version)
    try:
        plaintext = AESGCM(key.material).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(context, organization_id, version)
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"A value in {context} does not decrypt for organization {organization_id}: it was "
            "altered or moved from another row."
        ) from None
    return plaintext.decode()


# --- blind indexes ----------------------------------------------------------------------------


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_name(value: str) -> str:
    # "Pat  Parent" and "pat parent" are the same person's name for duplicate detection
    return " ".join(value.split()).casefold()


def normalize_identifier(value: str) -> str:
    # a student number or SIS id: exact but for surrounding spaces
    return value.strip()


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "email": normalize_email,
    "name": normalize_name,
    "identifier": normalize_identifier,
}


def blind_index(
    organization_id: int, value: str, *, kind: str = "email", create: bool = False
) -> str:
    """HMAC-SHA256 of the normalized value under the organization's index key (hex).

    The same person's email gives the same index in every table of one organization (the
    `kind` separates unrelated kinds of value) and unrelated indexes in different
    organizations. Lookups pass create=False: without an index key nothing was indexed, and
    NO_MATCH matches no row. Saving passes create=True.
    """
    key = current_key(organization_id, Purpose.INDEX, create=create)
    if key is None:
        return NO_MATCH
    message = f"{kind}\x00{NORMALIZERS[kind](value)}".encode()
    return hmac.new(key.material, message, hashlib.sha256).hexdigest()
