"""Verify the audit chains: every event intact, in place, none missing, checkpoints honoured.

Streams each chain in sequence order in constant memory (a server-side cursor), recomputes
each event's hash and checks its link to the event before. The first problem of each chain is
reported with the event it concerns:

    edited     an event's stored fields no longer hash to its stored hash, or the event
               before it was changed and re-hashed (the link to it broke)
    missing    a gap in the sequence: events were deleted
    reordered  an event sits at a position other than the one it was written at
    truncated  a signed checkpoint names a position past the end of the chain
    rewritten  the chain is self-consistent but differs from a signed checkpoint (hashes were
               recomputed after an edit)
    checkpoint a checkpoint's signature does not verify (forged, or signed by an unknown key)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection

from accounts.models import Organization
from audit.chain import GENESIS, HASHED_FIELDS, chain_label, event_hash
from audit.checkpoints import signature_valid, trusted_public_keys
from audit.models import AuditCheckpoint, AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

CHUNK_SIZE = 5000
COLUMNS = ("id", *HASHED_FIELDS, "sequence", "previous_hash", "hash")


@dataclass(frozen=True)
class Problem:
    organization_id: int | None
    kind: str
    event_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "no event"
        return f"{chain_label(self.organization_id)}: {where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    events: int = 0
    chains: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _rows(organization_id: int | None) -> Iterator[dict[str, object]]:
    """The chain's events in order, through a server-side cursor: constant memory.

    Raw rows rather than the ORM: model field conversion costs as much as hashing here.
    """
    where = "organization_id IS NULL" if organization_id is None else "organization_id = %s"
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent WHERE {where} ORDER BY sequence"
    changes = COLUMNS.index("changes")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [] if organization_id is None else [organization_id])
        while batch := cursor.fetchmany(CHUNK_SIZE):
            for values in batch:
                row = dict(zip(COLUMNS, values, strict=True))
                if isinstance(values[changes], str):  # jsonb arrives as text
                    row["changes"] = json.loads(values[changes])
                yield row


def _chain_filter(organization_id: int | None) -> dict[str, object]:
    if organization_id is None:
        return {"organization__isnull": True}
    return {"organization_id": organization_id}


def _original_position(
    organization_id: int | None, previous_hash: str, depth: int = 8
) -> int | None:
    """Where an event was written: right after the event its link names (failure path only).

    The linked event may have been moved too (two events swapped), so its own original
    position is found the same way, a few steps back at most.
    """
    if previous_hash == GENESIS:
        return 1
    found = (
        AuditEvent.objects.filter(**_chain_filter(organization_id), hash=previous_hash)
        .values_list(*COLUMNS)
        .first()
    )
    if found is None:
        return None
    linked = dict(zip(COLUMNS, found, strict=True))
    if event_hash(linked) == linked["hash"]:
        return int(str(linked["sequence"])) + 1
    if depth == 0:
        return None
    position = _original_position(organization_id, str(linked["previous_hash"]), depth - 1)
    if position is not None and event_hash({**linked, "sequence": position}) == linked["hash"]:
        return position + 1
    return None


def verify_chain(organization_id: int | None, report: Report) -> None:
    """Check one chain; add its event count and its first problem, if any, to `report`.

    Call inside an all-tenants context. Checkpoints are read before the events, so events
    appended meanwhile can only make the chain longer than its newest checkpoint.
    """
    checkpoints = list(
        AuditCheckpoint.objects.filter(**_chain_filter(organization_id)).order_by("sequence")
    )
    before = report.events
    found = _first_problem(organization_id, checkpoints, report)
    if checkpoints or report.events > before:
        report.chains += 1
    if found is not None:
        report.problems.append(found)


def _first_problem(
    organization_id: int | None, checkpoints: list[AuditCheckpoint], report: Report
) -> Problem | None:
    def problem(kind: str, event_id: int | None, detail: str) -> Problem:
        return Problem(organization_id, kind, event_id, detail)

    keys = trusted_public_keys()
    for checkpoint in checkpoints:
        if not signature_valid(checkpoint, keys):
            why = "an invalid signature" if checkpoint.key_id in keys else "an unknown key"
            return problem(
                "checkpoint",
                None,
                f"checkpoint {checkpoint.pk} (sequence {checkpoint.sequence}) has {why}",
            )
    pinned = {c.sequence: c for c in checkpoints}

    expected, previous_hash, previous_id = 1, GENESIS, 0
    for row in _rows(organization_id):
        report.events += 1
        sequence, event_id = row["sequence"], row["id"]
        assert isinstance(sequence, int) and isinstance(event_id, int)
        if sequence > expected:
            gap = f"{expected}" if sequence == expected + 1 else f"{expected}-{sequence - 1}"
            return problem("missing", event_id, f"sequence {gap} is missing before it")
        if sequence < expected:
            return problem("reordered", event_id, f"a second event at sequence {sequence}")
        content_intact = event_hash(row) == row["hash"]
        if row["previous_hash"] != previous_hash:
            original = _original_position(organization_id, str(row["previous_hash"]))
            if (
                original is not None
                and original != sequence
                and event_hash({**row, "sequence": original}) == row["hash"]
            ):
                return problem(
                    "reordered", event_id, f"written at sequence {original}, now at {sequence}"
                )
            if content_intact and previous_id:
                return problem(
                    "edited",
                    previous_id,
                    f"changed and re-hashed: event {event_id} (sequence {sequence}) links to "
                    "a different hash",
                )
            return problem("edited", event_id, f"its link to sequence {sequence - 1} is broken")
        if not content_intact:
            return problem("edited", event_id, "its stored fields do not match its hash")
        if event_id < previous_id:
            return problem("reordered", event_id, f"its id is lower than event {previous_id}'s")
        pin = pinned.get(sequence)
        if pin is not None and pin.hash != row["hash"]:
            return problem(
                "rewritten",
                event_id,
                f"the chain up to sequence {sequence} was rewritten: checkpoint "
                f"{pin.pk} signed a different hash",
            )
        expected, previous_hash, previous_id = sequence + 1, str(row["hash"]), event_id
    last = expected - 1
    if checkpoints and checkpoints[-1].sequence > last:
        cut = checkpoints[-1]
        return problem(
            "truncated",
            previous_id or None,
            f"the chain ends at sequence {last} (this event) but checkpoint {cut.pk}, signed "
            f"{cut.signed_at:%Y-%m-%d %H:%M:%S} UTC, names sequence {cut.sequence}: "
            f"sequence {last + 1}-{cut.sequence} are gone",
        )
    return None


def verify_chains(*, organization: Organization | None = None) -> Report:
    """Verify the platform chain and every organization's, or one organization's only."""
    report = Report()
    if organization is not None:
        chains: list[int | None] = [organization.pk]
    else:
        chains = [None, *Organization.objects.order_by("pk").values_list("pk", flat=True)]
    for organization_id in chains:
        # one transaction per chain: a short snapshot, and row-level security lets ops read it
        with unscoped_all_tenants(reason="audit verification"):
            verify_chain(organization_id, report)
    return report
