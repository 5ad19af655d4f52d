"""The sealer: gives committed, unsealed audit events their place in their hash chain.

`record()` inserts events unsealed and takes no lock, so writers never queue behind each
other (issue #20: one chain head locked until commit capped a busy organization at a few
hundred events per second). This module does the chaining afterwards, per chain, in
batches: lock the chain's head row (so one sealer per chain at a time), read the committed
unsealed events in id order, give each the next sequence and the previous event's hash,
hash it in canonical form 2 (which covers the event's id, audit.chain) and write the three
fields and `sealed_at` with one UPDATE, the only one the append-only trigger allows.

Hashes are computed from the row as PostgreSQL stores it (the verifier's own RowHasher over
the verifier's own column list), so sealing and verification cannot disagree about a value's
canonical form.

What changes for tamper-evidence: an event is protected from its sealing on, a few seconds
after commit (beat runs `seal_audit_chains` every AUDIT_SEAL_INTERVAL_SECONDS), instead of
from its commit. Before sealing the trigger still refuses any change to its content and any
DELETE; `audit_verify` reports the longest time an event waited, and fails naming the event
when one has waited longer than AUDIT_SEAL_BOUND_SECONDS (a stopped sealer). docs/audit.md.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

from django.db import connection

from audit.chain import chain_condition, lock_head, move_head
from audit.models import AuditEvent
from audit.verification import RowHasher, stream_columns_sql
from k12cloud import tenancy

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000  # events per sealing transaction

_TABLE = AuditEvent._meta.db_table
_UNSEALED_SQL = (
    f"SELECT {stream_columns_sql()} FROM {_TABLE} "
    "WHERE {chain} AND sequence IS NULL ORDER BY id LIMIT %s"
)
_SEAL_SQL = (
    f"UPDATE {_TABLE} AS e SET sequence = s.sequence, previous_hash = s.previous_hash, "
    "hash = s.hash, sealed_at = statement_timestamp() "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
    "AS s(id, sequence, previous_hash, hash) WHERE e.id = s.id"
)


def _context(organization_id: int | None) -> AbstractContextManager[object]:
    if organization_id is None:
        return tenancy.unscoped_all_tenants(reason="seal the platform audit chain")
    return tenancy.tenant_context(organization_id)


def seal_chain(organization_id: int | None, *, batch_size: int = BATCH_SIZE) -> int:
    """Seal the chain's committed unsealed events, a batch per transaction; how many."""
    condition, parameters = chain_condition(organization_id)
    select = _UNSEALED_SQL.format(chain=condition)
    hasher = RowHasher()
    sealed = 0
    while True:
        with _context(organization_id), connection.cursor() as cursor:
            sequence, previous_hash = lock_head(organization_id)
            cursor.execute(select, [*parameters, batch_size])
            rows = cursor.fetchall()
            if not rows:
                return sealed
            ids, sequences, links, hashes = [], [], [], []
            for row in rows:
                sequence += 1
                digest = hasher.sealed_hash(row, sequence=sequence, previous_hash=previous_hash)
                ids.append(row[15])
                sequences.append(sequence)
                links.append(previous_hash)
                hashes.append(digest)
                previous_hash = digest
            cursor.execute(_SEAL_SQL, [ids, sequences, links, hashes])
            move_head(organization_id, sequence, previous_hash)
        sealed += len(rows)
        if len(rows) < batch_size:
            return sealed


def chains_awaiting_seal() -> list[int | None]:
    """The chains (None: the platform's) that hold unsealed events, platform first."""
    with (
        tenancy.unscoped_all_tenants(reason="find the audit chains awaiting sealing"),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"SELECT DISTINCT organization_id FROM {_TABLE} WHERE sequence IS NULL")
        found = [row[0] for row in cursor.fetchall()]
    return sorted(
        found, key=lambda organization_id: -1 if organization_id is None else organization_id
    )


def seal_chains() -> int:
    """Seal every chain's unsealed events; how many were sealed."""
    total = 0
    for organization_id in chains_awaiting_seal():
        total += seal_chain(organization_id)
    if total:
        logger.debug("sealed %d audit events", total)
    return total
