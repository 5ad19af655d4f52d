"""`manage.py audit_verify` and the nightly task: tampering is found and localized.

Tampering runs as an attacker with database superuser access would: as the owner role with
the append-only trigger disabled (audit.tests.tampering).
"""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.actions import Action
from audit.checkpoints import checkpoint_chains
from audit.context import Actor, acting_as
from audit.models import AuditCheckpoint, AuditEvent
from audit.sealing import seal_chains
from audit.services import record
from audit.tasks import verify_audit_chains
from audit.tests.tampering import as_attacker, rehash_chain_from, sealed_as_written
from k12cloud.tenancy import unscoped_all_tenants

# tampering reconnects as the owner role, which a test transaction cannot survive
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory.create(slug="lincoln-usd")


@pytest.fixture
def events(org: Organization) -> list[AuditEvent]:
    """Six events in the organization's chain, and some in another chain and the platform's."""
    other = OrganizationFactory.create(slug="hudson-csd")
    written = []
    with acting_as(Actor.system("test")):
        for number in range(6):
            written.append(
                record(Action.MEMBER_INVITED, organization=org, changes={"number": number})
            )
            record(Action.MEMBER_INVITED, organization=other)
        record(Action.SIGNED_IN)
    seal_chains()
    with unscoped_all_tenants(reason="test"):
        return list(AuditEvent.objects.filter(pk__in=[e.pk for e in written]).order_by("sequence"))


def verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_intact_chains_exit_0_with_the_count(events: list[AuditEvent]) -> None:
    checkpoint_chains()
    code, out, err = verify()
    assert (code, err) == (0, "")
    sealing, checked = out.splitlines()
    assert checked.startswith("13 events checked in 3 chains")
    assert sealing.startswith("Sealing (bound 300s): the longest an event waited for its seal: ")
    assert sealing.endswith("; none awaiting sealing.")
    code, out, _ = verify("--organization", "lincoln-usd")
    assert (code, out.splitlines()[1].split(" (")[0]) == (0, "6 events checked in 1 chains")


def test_events_awaiting_their_seal_are_counted_and_late_ones_fail(
    org: Organization, events: list[AuditEvent], settings: pytest.FixtureRequest
) -> None:
    waiting = record(Action.MEMBER_INVITED, organization=org, actor=Actor.system("test"))
    code, out, _ = verify()
    assert code == 0
    assert "; 1 awaiting sealing, the oldest for " in out
    assert "13 events checked" in out  # an unsealed event is not in the chain yet

    settings.AUDIT_SEAL_BOUND_SECONDS = 0  # type: ignore[attr-defined]
    code, _, err = verify()
    assert code == 1
    assert (
        f"LATE organization {org.pk}: event {waiting.pk}: unsealed: 1 events are not sealed" in err
    )
    assert "is the sealer (audit.seal_audit_chains, run by beat) running?" in err
    seal_chains()
    assert verify()[0] == 0


def test_an_unknown_organization_is_an_error() -> None:
    with pytest.raises(CommandError, match="no-such-org"):
        call_command("audit_verify", "--organization", "no-such-org")


def test_an_edited_event_is_found(events: list[AuditEvent]) -> None:
    with as_attacker() as cursor:
        cursor.execute(
            """UPDATE audit_auditevent SET changes = '{"number": 99}' WHERE id = %s""",
            [events[2].pk],
        )
    code, _, err = verify()
    assert code == 1
    assert f"organization {events[2].organization_id}: event {events[2].pk}: edited:" in err
    assert "1 of 3 chains failed" in err


def test_an_edited_and_rehashed_event_is_found_by_the_next_link(events: list[AuditEvent]) -> None:
    victim = events[2]
    with as_attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [victim.pk])
        # ...but stops short of re-linking the events after it
        rehash_chain_from(cursor, victim.organization_id, victim.sequence, through=victim.sequence)
    code, _, err = verify()
    assert code == 1
    assert f"event {victim.pk}: edited: changed and re-hashed: event {events[3].pk}" in err


def test_a_fully_rehashed_chain_passes_without_a_checkpoint(events: list[AuditEvent]) -> None:
    """Unkeyed hashes alone cannot catch a careful rewrite: that is what checkpoints are for."""
    with as_attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [events[2].pk])
        rehash_chain_from(cursor, events[2].organization_id, events[2].sequence)
    assert verify()[0] == 0


def test_a_rewritten_chain_contradicts_its_checkpoint(events: list[AuditEvent]) -> None:
    checkpoint_chains()
    with as_attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [events[2].pk])
        rehash_chain_from(cursor, events[2].organization_id, events[2].sequence)
    code, _, err = verify()
    assert code == 1
    assert f"event {events[-1].pk}: rewritten:" in err


def test_a_deleted_event_is_found(events: list[AuditEvent]) -> None:
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    code, _, err = verify()
    assert code == 1
    assert f"event {events[4].pk}: missing: sequence 4 is missing before it" in err


def test_two_swapped_events_are_found(events: list[AuditEvent]) -> None:
    first, second = events[1], events[2]
    with as_attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET sequence = -1 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE audit_auditevent SET sequence = 2 WHERE id = %s", [second.pk])
        cursor.execute("UPDATE audit_auditevent SET sequence = 3 WHERE id = %s", [first.pk])
    code, _, err = verify()
    assert code == 1
    assert f"event {second.pk}: reordered: written at sequence 3, now at 2" in err


def _swap_ids(first: AuditEvent, second: AuditEvent) -> None:
    with as_attacker() as cursor:
        cursor.execute("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = %s", [first.pk, second.pk])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = -1", [second.pk])


def test_swapped_ids_are_found_by_the_hash(events: list[AuditEvent]) -> None:
    """Moving rows without touching chain fields: a sealed event's hash covers its id."""
    first, second = events[1], events[2]
    _swap_ids(first, second)
    code, _, err = verify()
    assert code == 1
    assert f"event {second.pk}: edited: its stored fields do not match its hash" in err


def test_swapped_ids_of_events_sealed_as_written_are_found_by_the_id_order(
    org: Organization,
) -> None:
    """Events sealed as they were written (before the sealer) follow their ids."""
    first, second, _ = sealed_as_written(org, 3)
    _swap_ids(first, second)
    code, _, err = verify()
    assert code == 1
    assert f"event {first.pk}: reordered: its id is lower than event {second.pk}'s" in err


def test_a_cut_tail_is_found_against_the_last_checkpoint(events: list[AuditEvent]) -> None:
    checkpoint_chains()
    with as_attacker() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[4].pk, events[5].pk]
        )
    code, _, err = verify()
    assert code == 1
    assert f"event {events[3].pk}: truncated: the chain ends at sequence 4" in err
    assert "sequence 5-6 are gone" in err


def test_a_forged_checkpoint_is_found(org: Organization, events: list[AuditEvent]) -> None:
    with unscoped_all_tenants(reason="test"):
        AuditCheckpoint.objects.create(
            organization=org,
            sequence=6,
            hash=events[-1].hash,
            signed_at=timezone.now(),
            key_id="0123456789abcdef",
            signature=base64.b64encode(b"x" * 64).decode(),
        )
    code, _, err = verify()
    assert code == 1
    assert "no event: checkpoint:" in err and "an unknown key" in err


def test_the_nightly_task_is_quiet_when_intact(events: list[AuditEvent]) -> None:
    UserFactory.create(is_staff=True)
    assert verify_audit_chains() is True
    assert mail.outbox == []


def test_the_nightly_task_alerts_ops_staff_on_tampering(
    events: list[AuditEvent], caplog: pytest.LogCaptureFixture
) -> None:
    ops = UserFactory.create(is_staff=True)
    UserFactory.create(is_staff=False)
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
    assert verify_audit_chains() is False
    (message,) = mail.outbox
    assert message.to == [ops.email]
    assert f"event {events[1].pk}: missing" in message.body
    assert any(
        r.levelname == "ERROR" and "verification FAILED" in r.getMessage() for r in caplog.records
    )
