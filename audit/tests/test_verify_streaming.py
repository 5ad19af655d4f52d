"""audit_verify's streaming check: its canonical bytes are chain.canonical_bytes's, byte for byte.

The verifier renders each streamed row into the canonical document with one precomputed
template (audit.verification.RowHasher) instead of json.dumps(sort_keys=True). These tests
write events of varied content the way record() does, read them back as the verifier streams
them, and compare with the reference: the bytes chain.canonical_bytes makes of the same row
read through the ORM, and the hash record() stored.
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta, timezone
from hashlib import sha256
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from audit import verification
from audit.actions import Action
from audit.chain import GENESIS, canonical_bytes, event_hash
from audit.context import Actor, acting_as
from audit.models import AuditEvent
from audit.sealing import seal_chain, seal_chains
from audit.services import record
from audit.tests.tampering import as_attacker
from audit.verification import (
    COLUMNS,
    STREAM_COLUMNS,
    RowHasher,
    _batches,
    stream_row_fields,
    verify_chains,
)
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

# no example database in the working tree (as privacy_requests/tests/test_deadline_properties)
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "k12cloud-hypothesis"))

# PostgreSQL text holds no NUL; surrogates cannot be encoded. Everything else goes: quotes,
# backslashes, every control character, non-ASCII letters, symbols and emoji.
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
CONTROL_AND_QUOTES = st.sampled_from(["\x01", "\x1f", "\x7f", '"', "\\", "\n", "\t", "\u2028"])


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.one_of(TEXT, CONTROL_AND_QUOTES), max_size=max_size)


BIGINT = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
# floats within 2**53: larger ones read back from jsonb as other integers than record() hashed
# (a limit of canonical form v1, not of the verifier; see the report in benchmarks/README.md)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(min_value=-(2**53), max_value=2**53, allow_nan=False, allow_infinity=False)
    | text(20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text(8), inner, max_size=4),
    max_leaves=12,
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
OCCURRED_AT = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9999, 12, 30), timezones=ZONES
)
IP = st.none() | st.ip_addresses().map(str) | st.just("2001:DB8:0:0::1")
EVENT = st.fixed_dictionaries(
    {
        "occurred_at": OCCURRED_AT,
        "actor_kind": st.sampled_from(["user", "api_key", "system", "anonymous"]),
        "actor_user_id": BIGINT,
        "actor_api_key_id": BIGINT,
        "actor_label": text(200),
        "ip_address": IP,
        "user_agent": text(400),
        "action": text(64),
        "target_type": text(64),
        "target_id": text(64),
        "changes": st.dictionaries(text(10), JSON, max_size=5),
        "request_id": text(64),
    }
)
positions = count(1)


def streamed(organization: Organization) -> dict[int, tuple[Any, ...]]:
    """{event id: row} as the verifier streams the organization's chain."""
    with unscoped_all_tenants(reason="test"):
        return {
            row[STREAM_COLUMNS.index("id")]: row
            for batch in _batches(organization.pk)
            for row in batch
        }


def reference(event_id: int) -> dict[str, Any]:
    """The event's fields as the ORM reads them back (the verifier's reference path)."""
    with unscoped_all_tenants(reason="test"):
        values = AuditEvent.objects.filter(pk=event_id).values_list(*COLUMNS).get()
    return dict(zip(COLUMNS, values, strict=True))


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=EVENT)
def test_streamed_rows_hash_to_the_canonical_bytes(fields: dict[str, Any]) -> None:
    organization = Organization.objects.filter(slug="canonical").first()
    organization = organization or OrganizationFactory.create(slug="canonical")
    sequence = next(positions)
    event = AuditEvent(
        organization_id=organization.pk,
        sequence=sequence,
        previous_hash=GENESIS if sequence == 1 else "f" * 64,
        **fields,
    )
    event.hash = event_hash(vars(event))  # as record() hashes it
    with tenant_context(organization):
        event.save(force_insert=True)

    row = streamed(organization)[event.pk]
    text = RowHasher().text(row)
    assert text.encode() == canonical_bytes(reference(event.pk))
    assert sha256(text.encode()).hexdigest() == event.hash
    assert event_hash(stream_row_fields(row)) == event.hash


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=EVENT)
def test_sealed_rows_hash_to_the_canonical_bytes(fields: dict[str, Any]) -> None:
    """Form 2: what the sealer hashed is what the verifier and the reference path hash."""
    organization = Organization.objects.filter(slug="canonical-sealed").first()
    organization = organization or OrganizationFactory.create(slug="canonical-sealed")
    event = AuditEvent(organization_id=organization.pk, sequence=None, **fields)
    with tenant_context(organization):
        event.save(force_insert=True)
    assert seal_chain(organization.pk) == 1

    row = streamed(organization)[event.pk]
    fields_back = reference(event.pk)
    assert fields_back["sealed_at"] is not None
    text = RowHasher().text(row)
    assert text.encode() == canonical_bytes(fields_back)
    assert f',"id":{event.pk},' in text and text.endswith(',"v":2}')
    assert sha256(text.encode()).hexdigest() == fields_back["hash"]
    assert event_hash(stream_row_fields(row)) == fields_back["hash"]


def test_a_null_where_text_belongs_takes_the_reference_path() -> None:
    row: list[object] = [None] * len(STREAM_COLUMNS)
    row[STREAM_COLUMNS.index("changes")] = "{}"
    row[STREAM_COLUMNS.index("sequence")] = 1
    with pytest.raises(TypeError):
        RowHasher().text(tuple(row))


@pytest.mark.django_db(transaction=True)
def test_batches_across_the_prefetch_verify_and_stop_the_fetcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Many small batches: the count is right, and a problem found early ends the fetcher."""
    monkeypatch.setattr(verification, "CHUNK_SIZE", 3)
    organization = OrganizationFactory.create(slug="lincoln-usd")
    with acting_as(Actor.system("test")):
        events = [
            record(Action.MEMBER_INVITED, organization=organization, changes={"n": n % 4})
            for n in range(40)
        ]
    seal_chains()
    report = verify_chains(organization=organization)
    assert (report.intact, report.events) == (True, 40)

    with as_attacker() as cursor:
        cursor.execute(
            """UPDATE audit_auditevent SET changes = '{"n": 9}' WHERE id = %s""", [events[4].pk]
        )
    report = verify_chains(organization=organization)
    assert [(p.kind, p.event_id) for p in report.problems] == [("edited", events[4].pk)]
    assert report.events == 5
    assert not [t for t in threading.enumerate() if t.name == "audit-verify-fetch"]
