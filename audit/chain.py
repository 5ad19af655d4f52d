"""Hash chains over audit events: one chain per organization, one for platform events.

Each event stores its position in its chain (`sequence`, from 1), the hash of the event before
it (`previous_hash`; GENESIS for the first) and its own `hash`: SHA-256 over a canonical
serialization of its fields (`canonical_bytes`). Changing, removing or moving an event breaks
the hash of the event or the link of the next one; `audit.verification` finds where.

Hashes are unkeyed, so someone who can write the table could recompute a whole chain after
editing it. Signed checkpoints (`audit.checkpoints`) pin chain heads with a key the database
does not hold, which makes such a rewrite, and cutting the tail, detectable too.

Sealing (issue #20). `record()` appends an event unsealed (no sequence, no hashes), without
any lock, in the caller's transaction; one sealer per chain (`audit.sealing`, run by Celery
beat every few seconds) gives the committed events their positions, links and hashes in
batches, in id order, much as a Certificate Transparency log sequences submitted entries. So
writers never wait on each other, and an event is sealed within a bounded time that
`audit_verify` reports and enforces (AUDIT_SEAL_BOUND_SECONDS).

Canonical forms must never change: stored hashes depend on them. Version 1 is that of events
sealed as they were written (before sealing existed, and by migrations); version 2, that of
events the sealer sealed (`sealed_at` set), adds the event's id, because such an event's
position is not tied to its id order any more and the id is how the rest of the product names
an event. A new form gets a new version number in the serialized document.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.db import connection

GENESIS = "0" * 64
FORMAT_VERSION = 1  # sealed as written (sealed_at empty)
SEALED_FORMAT_VERSION = 2  # sealed after commit by audit.sealing (sealed_at set): adds the id
# The fields of AuditEvent that the hash covers, besides the chain fields.
HASHED_FIELDS = (
    "organization_id",
    "occurred_at",
    "actor_kind",
    "actor_user_id",
    "actor_api_key_id",
    "actor_label",
    "ip_address",
    "user_agent",
    "action",
    "target_type",
    "target_id",
    "changes",
    "request_id",
)
CHAIN_FIELDS = ("sequence", "previous_hash")


def _normalize_json(value: Any) -> Any:
    """What the value reads back as from jsonb: integral floats come back as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalize_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize_json(v) for v in value]
    return value


def _timestamp(value: datetime) -> str:
    if value.utcoffset():
        value = value.astimezone(UTC)
    # isoformat is faster than strftime; same text: 2026-01-31T09:05:00.000000Z
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@lru_cache(maxsize=4096)
def _ip(value: str | None) -> str | None:
    # the inet column may spell an address differently from what was written (IPv6 case)
    return None if not value else str(ipaddress.ip_address(value))


def format_version(fields: Mapping[str, Any]) -> int:
    """Which canonical form an event's hash uses: 2 when the sealer sealed it."""
    return FORMAT_VERSION if fields.get("sealed_at") is None else SEALED_FORMAT_VERSION


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: sorted-key compact JSON of its fields, UTF-8."""
    document = {name: fields[name] for name in (*HASHED_FIELDS, *CHAIN_FIELDS)}
    document["occurred_at"] = _timestamp(fields["occurred_at"])
    document["ip_address"] = _ip(fields["ip_address"])
    document["changes"] = _normalize_json(fields["changes"])
    document["v"] = format_version(fields)
    if document["v"] == SEALED_FORMAT_VERSION:
        document["id"] = fields["id"]
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def chain_condition(organization_id: int | None) -> tuple[str, list[int]]:
    """The SQL condition selecting one chain's events, and its parameters."""
    if organization_id is None:
        return "organization_id IS NULL", []
    return "organization_id = %s", [organization_id]


def chain_label(organization_id: int | None) -> str:
    return "platform" if organization_id is None else f"organization {organization_id}"


def lock_head(organization_id: int | None) -> tuple[int, str]:
    """Lock the chain's head row until the transaction ends; its (sequence, hash).

    One statement creates the row for a new chain or locks the existing one, and returns the
    latest committed head even when it had to wait for another sealer (ON CONFLICT DO UPDATE
    reads the newest row version under READ COMMITTED). Sealers of one chain (and migrations
    that append sealed events) thus queue here; `record()` never takes this lock.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditchainhead (organization_id, sequence, hash) "
            "VALUES (%s, 0, %s) "
            "ON CONFLICT ((COALESCE(organization_id, 0))) "
            "DO UPDATE SET sequence = audit_auditchainhead.sequence "
            "RETURNING sequence, hash",
            [organization_id, GENESIS],
        )
        sequence, digest = cursor.fetchone()
    return sequence, digest


def move_head(organization_id: int | None, sequence: int, digest: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditchainhead SET sequence = %s, hash = %s "
            "WHERE COALESCE(organization_id, 0) = COALESCE(%s, 0)",
            [sequence, digest, organization_id],
        )
