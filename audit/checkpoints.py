"""Signed checkpoints of the audit chains: what makes a rewritten or cut chain detectable.

Chain hashes are unkeyed: whoever can write the table can recompute them. A checkpoint is an
Ed25519 signature over (chain, sequence, hash, signed_at) made with a private key that lives
in the environment of the checkpointing worker (AUDIT_CHECKPOINT_PRIVATE_KEY), never in the
database. Verification needs only public keys: the configured key's, plus any retired keys
listed in AUDIT_CHECKPOINT_PUBLIC_KEYS (base64 of the raw 32 bytes), looked up by key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from audit.chain import chain_label
from audit.models import AuditCheckpoint
from k12cloud.tenancy import unscoped_all_tenants

logger = logging.getLogger(__name__)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def load_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 key, or base64 of its raw 32 bytes."""
    text = text.strip()
    if not text:
        raise ImproperlyConfigured("AUDIT_CHECKPOINT_PRIVATE_KEY is required but not set.")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("not an Ed25519 key")
            return key
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error) as error:
        raise ImproperlyConfigured(
            "AUDIT_CHECKPOINT_PRIVATE_KEY is malformed: expected an Ed25519 key "
            "(PEM, or base64 of the raw 32 bytes)."
        ) from error


@cache
def _signing_key(text: str) -> Ed25519PrivateKey:
    return load_private_key(text)


def signing_key() -> Ed25519PrivateKey:
    return _signing_key(settings.AUDIT_CHECKPOINT_PRIVATE_KEY)


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """{key id: public key}: the current key's and the retired ones still trusted."""
    keys = [signing_key().public_key()]
    for text in getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEYS", []):
        keys.append(Ed25519PublicKey.from_public_bytes(base64.b64decode(text)))
    return {key_id(key): key for key in keys}


def signed_message(
    organization_id: int | None, sequence: int, digest: str, signed_at: datetime
) -> bytes:
    when = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    chain = chain_label(organization_id)
    return f"k12cloud-audit-checkpoint/v1|{chain}|{sequence}|{digest}|{when}".encode()


def signature_valid(checkpoint: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    message = signed_message(
        checkpoint.organization_id, checkpoint.sequence, checkpoint.hash, checkpoint.signed_at
    )
    try:
        key.verify(base64.b64decode(checkpoint.signature), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class ChainHead:
    organization_id: int | None
    sequence: int
    hash: str


def chain_heads() -> list[ChainHead]:
    """The last event of every non-empty chain. All-tenants context only.

    The head table says where each chain ends; the hash signed is the event's own, read by
    its unique (chain, position) index (which holds sealed events only, hence the `IS NOT
    NULL`), never the head row's (which is not append-only).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT h.organization_id, e.sequence, e.hash
            FROM audit_auditchainhead h
            JOIN audit_auditevent e ON e.organization_id = h.organization_id
                AND e.sequence = h.sequence AND e.sequence IS NOT NULL
            UNION ALL
            SELECT NULL, e.sequence, e.hash
            FROM audit_auditchainhead h
            JOIN audit_auditevent e ON e.organization_id IS NULL AND e.sequence = h.sequence
                AND e.sequence IS NOT NULL
            WHERE h.organization_id IS NULL
            """
        )
        return [ChainHead(*row) for row in cursor.fetchall()]


def checkpoint_chains() -> int:
    """Sign the head of every chain that grew since its last checkpoint. Returns how many.

    Idempotent: a second run with no new events writes nothing. Reads committed heads only, so
    it needs no chain lock: a head, once committed, stays the event at that position.
    """
    key = signing_key()
    kid = key_id(key.public_key())
    with unscoped_all_tenants(reason="sign audit chain checkpoints"):
        last_signed = {
            (organization_id, sequence)
            for organization_id, sequence in AuditCheckpoint.objects.order_by(
                "organization_id", "-sequence"
            )
            .distinct("organization_id")
            .values_list("organization_id", "sequence")
        }
        now = timezone.now()
        new = [
            AuditCheckpoint(
                organization_id=head.organization_id,
                sequence=head.sequence,
                hash=head.hash,
                signed_at=now,
                key_id=kid,
                signature=base64.b64encode(
                    key.sign(signed_message(head.organization_id, head.sequence, head.hash, now))
                ).decode(),
            )
            for head in chain_heads()
            if (head.organization_id, head.sequence) not in last_signed
        ]
        AuditCheckpoint.objects.bulk_create(new)
    logger.info("signed %d audit chain checkpoints", len(new))
    return len(new)
