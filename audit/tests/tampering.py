"""What an attacker with database superuser access would do: bypass the append-only trigger.

Runs as the owner role (the runtime role has no UPDATE or DELETE on the audit tables at all),
with row-level security opened for the session and the trigger switched off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from accounts.models import Organization
from audit.chain import event_hash, lock_head, move_head
from audit.context import ActorKind
from audit.models import AuditEvent
from audit.verification import COLUMNS
from conftest import connected_as_owner
from k12cloud.tenancy import tenant_context


@contextmanager
def as_attacker() -> Iterator[Any]:
    with connected_as_owner(), connection.cursor() as cursor:
        cursor.execute("SET k12cloud.all_tenants = 'on'")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        try:
            yield cursor
        finally:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def rehash_chain_from(
    cursor: Any, organization_id: int, sequence: int, *, through: int | None = None
) -> None:
    """Recompute hashes and links from `sequence` on (through `through`), as an attacker would."""
    cursor.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent "
        "WHERE organization_id = %s ORDER BY sequence",
        [organization_id],
    )
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:  # a raw cursor reads jsonb as text
        row["changes"] = json.loads(row["changes"])
    previous = None
    for row in rows:
        if sequence <= row["sequence"] <= (through or row["sequence"]):
            assert previous is not None
            row["previous_hash"] = previous
            row["hash"] = event_hash(row)
            cursor.execute(
                "UPDATE audit_auditevent SET previous_hash = %s, hash = %s WHERE id = %s",
                [row["previous_hash"], row["hash"], row["id"]],
            )
        previous = row["hash"]


def sealed_as_written(organization: Organization, count: int) -> list[AuditEvent]:
    """Events chained as record() wrote them before the sealer existed (form 1, no sealed_at),
    as audit 0002 and the migrations that record events still write them."""
    written = []
    with tenant_context(organization):
        for number in range(count):
            sequence, previous_hash = lock_head(organization.pk)
            event = AuditEvent(
                organization_id=organization.pk,
                actor_kind=ActorKind.SYSTEM,
                actor_label="test",
                action="member.invited",
                changes={"number": number},
                sequence=sequence + 1,
                previous_hash=previous_hash,
            )
            event.hash = event_hash(vars(event))
            event.save(force_insert=True)
            move_head(organization.pk, event.sequence, event.hash)
            written.append(event)
    return written
