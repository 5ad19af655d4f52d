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
    unsealed   an event has waited for the sealer (audit.sealing) longer than
               AUDIT_SEAL_BOUND_SECONDS: the sealer is not running, or cannot keep up

Events not sealed yet are not part of the chain; the report counts them and gives the oldest
one's age, and the longest time any checked event waited for its sealing.

Speed (1,000,000 events in seconds, benchmarks/README.md): rows come as tuples with the hashed
columns in the canonical document's key order, and RowHasher fills a precomputed template
with them, producing exactly chain.canonical_bytes's bytes (test_verify_streaming proves it
over varied events). Even a rendering that differed would only raise false alarms, never hide
an edit: it is valid JSON of the row's own fields, so no other row's fields render to the
same bytes. Rows failing any quick check go through the reference checks below.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from audit.chain import (
    CHAIN_FIELDS,
    FORMAT_VERSION,
    GENESIS,
    HASHED_FIELDS,
    SEALED_FORMAT_VERSION,
    _ip,
    _normalize_json,
    chain_condition,
    chain_label,
    event_hash,
)
from audit.checkpoints import signature_valid, trusted_public_keys
from audit.models import AuditCheckpoint, AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

CHUNK_SIZE = 2000  # rows per FETCH: with the prefetched ones, what the check holds in memory
PREFETCH = 2  # batches fetched ahead of the hashing
COLUMNS = ("id", *HASHED_FIELDS, "sequence", "previous_hash", "hash", "sealed_at")


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
    # events recorded but not sealed yet, and how long the oldest of them has waited
    awaiting_seal: int = 0
    oldest_awaiting_seconds: float | None = None
    # the longest an event checked waited between its recording and its sealing
    longest_seal_seconds: float | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


# The streaming check reads the hashed columns in the order of the canonical document's keys
# (sorted, as json.dumps(sort_keys=True) writes them: see CANONICAL_KEYS), then the event's
# id and stored hash, and how long after its recording it was sealed (seconds; NULL for an
# event sealed as written, which says its hash uses canonical form 1). occurred_at comes as
# the canonical text itself (chain._timestamp's "2026-01-31T09:05:00.000000", in UTC), which
# spares a datetime object per row. The sealer (audit.sealing) reads the same columns.
STREAM_COLUMNS = (
    "action",
    "actor_api_key_id",
    "actor_kind",
    "actor_label",
    "actor_user_id",
    "changes",
    "ip_address",
    "occurred_at",
    "organization_id",
    "previous_hash",
    "request_id",
    "sequence",
    "target_id",
    "target_type",
    "user_agent",
    "id",
    "hash",
    "seal_delay",
)
CANONICAL_KEYS = STREAM_COLUMNS[:15]
if tuple(sorted((*HASHED_FIELDS, *CHAIN_FIELDS))) != CANONICAL_KEYS:  # pragma: no cover
    raise ImportError("audit.verification.STREAM_COLUMNS no longer matches audit.chain's fields")
_COMPUTED = {
    "occurred_at": """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')""",
    "seal_delay": "EXTRACT(EPOCH FROM sealed_at - occurred_at)::float8",
}


def stream_columns_sql() -> str:
    return ", ".join(_COMPUTED.get(column, column) for column in STREAM_COLUMNS)


def _template(keys: tuple[str, ...], version: int) -> str:
    return (
        "{"
        + ",".join(f'"{name}":%s' for name in keys).replace(
            '"occurred_at":%s', '"occurred_at":"%sZ"'
        )
        + f',"v":{version}}}'
    )


# chain.canonical_bytes's documents with a slot per field: strings are JSON-encoded by json's
# own string encoder, integers and null spelled as json.dumps spells them. Form 2 adds the id,
# which sorts between "changes" and "ip_address".
_TEMPLATE = _template(CANONICAL_KEYS, FORMAT_VERSION)
_SEALED_TEMPLATE = _template(
    (*CANONICAL_KEYS[:6], "id", *CANONICAL_KEYS[6:]), SEALED_FORMAT_VERSION
)
if sorted((*CANONICAL_KEYS, "id")) != [*CANONICAL_KEYS[:6], "id", *CANONICAL_KEYS[6:]]:
    raise ImportError("audit.verification's form 2 template misplaces the id")  # pragma: no cover
_CACHE_LIMIT = 50_000  # distinct changes documents or addresses remembered per chain


def _stream_sql(organization_id: int | None) -> tuple[str, list[int]]:
    where, parameters = chain_condition(organization_id)
    return (
        f"SELECT {stream_columns_sql()} FROM audit_auditevent "
        f"WHERE {where} AND sequence IS NOT NULL ORDER BY sequence"
    ), parameters


def _batches(organization_id: int | None) -> Iterator[list[tuple[Any, ...]]]:
    """The chain's events in order, in batches, through a server-side cursor: constant memory.

    A thread fetches the next batch while the caller hashes this one: PostgreSQL reads and
    sends, and psycopg waits on the socket with the GIL released, while Python hashes. At
    most PREFETCH batches wait in the queue, so memory stays bounded by the batch size.
    """
    with connection.chunked_cursor() as cursor:
        cursor.execute(*_stream_sql(organization_id))
        raw = cursor.cursor  # psycopg's own cursor: fetched from the thread below
        batches: queue.Queue[list[tuple[Any, ...]] | BaseException] = queue.Queue(PREFETCH)
        stop = threading.Event()

        def fetch() -> None:
            try:
                while not stop.is_set():
                    batch = raw.fetchmany(CHUNK_SIZE)
                    batches.put(batch)
                    if not batch:
                        return
            except BaseException as error:  # handed to the caller, raised there
                batches.put(error)

        fetcher = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
        fetcher.start()
        try:
            while True:
                item = batches.get()
                if isinstance(item, BaseException):
                    with connection.wrap_database_errors:  # as Django's own cursor raises
                        raise item
                if not item:
                    return
                yield item
        finally:
            stop.set()
            while fetcher.is_alive():  # unblock a put() and let the thread end
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.05)
            fetcher.join()


def _canonical_changes(text: str) -> str:
    """The changes document as canonical_bytes writes it, from its jsonb text."""
    value = _normalize_json(json.loads(text))
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _canonical_ip(value: str | None) -> str:
    address = _ip(value)
    return "null" if address is None else encode_basestring(address)


def stream_row_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    """A streamed row as the fields event_hash() takes (the exact, slow path)."""
    fields = dict(zip(STREAM_COLUMNS, row, strict=True))
    # only whether it is set matters to the hash (chain.format_version)
    fields["sealed_at"] = fields.pop("seal_delay")
    text = fields["occurred_at"]
    fields["occurred_at"] = datetime.fromisoformat(f"{text}+00:00") if text else text
    if isinstance(fields["changes"], str):
        fields["changes"] = json.loads(fields["changes"])
    return fields


class RowHasher:
    """SHA-256 of a streamed row's canonical bytes, byte for byte chain.canonical_bytes's.

    One %-format per row fills the precomputed document: what json.dumps(sort_keys=True)
    spends per row (a new encoder, a dict, sorting, recursion) is gone, and the changes
    document and the address, which repeat, are canonicalized once per distinct text.
    A row of other types (a NULL where text belongs) raises TypeError: hash it with
    event_hash(stream_row_fields(row)), the reference.
    """

    def __init__(self) -> None:
        self.changes: dict[str, str] = {}
        self.addresses: dict[str | None, str] = {None: "null"}

    def text(self, row: tuple[Any, ...]) -> str:
        """The canonical text of a row as stored (form 2 when it has a seal delay)."""
        sealed_id = None if row[17] is None else row[15]
        return self._render(row, row[9], row[11], sealed_id)

    def sealed_hash(self, row: tuple[Any, ...], *, sequence: int, previous_hash: str) -> str:
        """The form 2 hash of an unsealed row at `sequence` after `previous_hash` (the sealer)."""
        text = self._render(row, previous_hash, sequence, row[15])
        return sha256(text.encode()).hexdigest()

    def _render(
        self, row: tuple[Any, ...], previous_hash: str, sequence: int, sealed_id: int | None
    ) -> str:
        changes, addresses = self.changes, self.addresses
        try:
            changes_text = changes[row[5]]
        except KeyError:
            if len(changes) >= _CACHE_LIMIT:
                changes.clear()
            changes_text = changes[row[5]] = _canonical_changes(row[5])
        try:
            ip_text = addresses[row[6]]
        except KeyError:
            if len(addresses) >= _CACHE_LIMIT:
                addresses.clear()
                addresses[None] = "null"
            ip_text = addresses[row[6]] = _canonical_ip(row[6])
        head = (
            encode_basestring(row[0]),
            "null" if row[1] is None else int.__repr__(row[1]),
            encode_basestring(row[2]),
            encode_basestring(row[3]),
            "null" if row[4] is None else int.__repr__(row[4]),
            changes_text,
        )
        tail = (
            ip_text,
            row[7],
            "null" if row[8] is None else int.__repr__(row[8]),
            encode_basestring(previous_hash),
            encode_basestring(row[10]),
            int.__repr__(sequence),
            encode_basestring(row[12]),
            encode_basestring(row[13]),
            encode_basestring(row[14]),
        )
        if sealed_id is None:
            return _TEMPLATE % (*head, *tail)
        return _SEALED_TEMPLATE % (*head, int.__repr__(sealed_id), *tail)


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
    late = _awaiting_seal(organization_id, report)
    if checkpoints or report.events > before:
        report.chains += 1
    report.problems.extend(problem for problem in (found, late) if problem is not None)


def _awaiting_seal(organization_id: int | None, report: Report) -> Problem | None:
    """Count the chain's unsealed events; a problem when one has waited past the bound."""
    where, parameters = chain_condition(organization_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(id), min(occurred_at) FROM audit_auditevent "
            f"WHERE {where} AND sequence IS NULL",
            parameters,
        )
        count, first_id, oldest = cursor.fetchone()
    if not count:
        return None
    waited = (timezone.now() - oldest).total_seconds()
    report.awaiting_seal += count
    report.oldest_awaiting_seconds = max(report.oldest_awaiting_seconds or 0.0, waited)
    bound = settings.AUDIT_SEAL_BOUND_SECONDS
    if waited <= bound:
        return None
    return Problem(
        organization_id,
        "unsealed",
        first_id,
        f"{count} events are not sealed, the oldest recorded {oldest:%Y-%m-%d %H:%M:%S} UTC, "
        f"{waited:.0f} s ago (the bound is {bound} s): is the sealer "
        "(audit.seal_audit_chains, run by beat) running?",
    )


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

    hasher = RowHasher()
    canonical_text = hasher.text
    expected, previous_hash, previous_id = 1, GENESIS, 0
    checked, longest = 0, -1.0
    try:
        for batch in _batches(organization_id):
            for row in batch:
                checked += 1
                try:
                    digest = sha256(canonical_text(row).encode()).hexdigest()
                except TypeError:  # not the types record() writes: the reference decides
                    digest = event_hash(stream_row_fields(row))
                sequence, event_id, stored, delay = row[11], row[15], row[16], row[17]
                if delay is not None and delay > longest:
                    longest = delay
                if (
                    sequence != expected
                    or digest != stored
                    or row[9] != previous_hash
                    or (delay is None and event_id < previous_id)
                    or sequence in pinned
                ):
                    found = _row_problem(
                        organization_id, row, digest, expected, previous_hash, previous_id, pinned
                    )
                    if found is not None:
                        return found
                expected, previous_hash, previous_id = sequence + 1, stored, event_id
    finally:
        report.events += checked
        if longest >= 0:
            report.longest_seal_seconds = max(report.longest_seal_seconds or 0.0, longest)
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


def _row_problem(
    organization_id: int | None,
    row: tuple[Any, ...],
    digest: str,
    expected: int,
    previous_hash: str,
    previous_id: int,
    pinned: dict[int, AuditCheckpoint],
) -> Problem | None:
    """What is wrong with a streamed row that failed a quick check, if anything."""

    def problem(kind: str, event_id: int | None, detail: str) -> Problem:
        return Problem(organization_id, kind, event_id, detail)

    sequence, event_id, stored = row[11], row[15], row[16]
    assert isinstance(sequence, int) and isinstance(event_id, int)
    if sequence > expected:
        gap = f"{expected}" if sequence == expected + 1 else f"{expected}-{sequence - 1}"
        return problem("missing", event_id, f"sequence {gap} is missing before it")
    if sequence < expected:
        return problem("reordered", event_id, f"a second event at sequence {sequence}")
    content_intact = digest == stored
    if row[9] != previous_hash:
        original = _original_position(organization_id, str(row[9]))
        if (
            original is not None
            and original != sequence
            and event_hash({**stream_row_fields(row), "sequence": original}) == stored
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
    # events sealed as written follow their ids; the sealer's (form 2) hash their id instead
    if row[17] is None and event_id < previous_id:
        return problem("reordered", event_id, f"its id is lower than event {previous_id}'s")
    pin = pinned.get(sequence)
    if pin is not None and pin.hash != stored:
        return problem(
            "rewritten",
            event_id,
            f"the chain up to sequence {sequence} was rewritten: checkpoint "
            f"{pin.pk} signed a different hash",
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
