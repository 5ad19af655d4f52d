"""The hash chain: record() appends, the sealer links; hashing, concurrency, checkpoints."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from audit.chain import GENESIS, event_hash
from audit.checkpoints import (
    checkpoint_chains,
    signature_valid,
    trusted_public_keys,
)
from audit.context import Actor, ActorKind, acting_as
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.sealing import seal_chain, seal_chains
from audit.services import record
from audit.verification import verify_chains
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db


def chain(organization: Organization | None) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test"):
        if organization is None:
            return list(AuditEvent.objects.filter(organization__isnull=True).order_by("sequence"))
        return list(AuditEvent.objects.filter(organization=organization).order_by("sequence"))


def test_events_link_per_organization_and_platform() -> None:
    org_a, org_b = (
        OrganizationFactory.create(slug="lincoln-usd"),
        OrganizationFactory.create(slug="hudson-csd"),
    )
    with acting_as(Actor.system("test")):
        for _ in range(3):
            record(Action.MEMBER_INVITED, organization=org_a)
        record(Action.MEMBER_INVITED, organization=org_b)
        record(Action.SIGNED_IN)
        record(Action.MEMBER_INVITED, organization=org_a)
    # recorded, not yet in a chain: no position, no hashes
    assert {(e.sequence, e.previous_hash, e.hash, e.sealed_at) for e in chain(org_a)} == {
        (None, "", "", None)
    }

    assert seal_chains() == 6
    assert seal_chains() == 0
    a = chain(org_a)
    assert all(e.sealed_at is not None for e in a)
    assert [e.sequence for e in a] == [1, 2, 3, 4]
    assert a[0].previous_hash == GENESIS
    assert [e.previous_hash for e in a[1:]] == [e.hash for e in a[:-1]]
    assert len({e.hash for e in a}) == 4
    assert [(e.sequence, e.previous_hash) for e in chain(org_b)] == [(1, GENESIS)]
    assert [(e.sequence, e.previous_hash) for e in chain(None)] == [(1, GENESIS)]


def test_the_hash_covers_the_stored_row_as_it_reads_back() -> None:
    """jsonb and inet normalise what they store: the hash must survive the round trip."""
    org = OrganizationFactory.create(slug="lincoln-usd")
    actor = Actor(
        ActorKind.USER, user_id=7, ip_address="2001:DB8:0:0::1", user_agent="Müller/1.0 ☃"
    )
    with acting_as(actor):
        written = record(
            Action.MEMBER_ROLE_CHANGED,
            organization=org,
            target=("membership", 3),
            # 1e23 is not exactly the decimal it prints as: the sealer hashes what jsonb
            # stores, so such a value verifies (record() used to hash the Python float)
            changes={
                "z": 1e16,
                "big": 1e23,
                "a": [2.0, 0.5, None, True],
                "roles": ("viewer", "org_admin"),
            },
        )
    assert (written.sequence, written.hash) == (None, "")
    seal_chains()
    (stored,) = chain(org)
    assert stored.pk == written.pk
    assert stored.ip_address == "2001:db8::1"  # spelled differently by PostgreSQL
    assert stored.hash == event_hash(vars(stored))
    assert verify_chains(organization=org).intact
    # and the hash really covers the fields, the id included (canonical form 2)
    edited = {**vars(stored), "changes": {**stored.changes, "a": [2.0, 0.5, None, False]}}
    assert event_hash(edited) != stored.hash
    assert event_hash({**vars(stored), "id": stored.pk + 1}) != stored.hash


def test_a_rolled_back_event_leaves_no_gap() -> None:
    org = OrganizationFactory.create(slug="lincoln-usd")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Action.MEMBER_INVITED, organization=org)
        raise RuntimeError("the change failed")
    record(Action.MEMBER_INVITED, organization=org)
    seal_chains()
    assert [(e.sequence, e.previous_hash) for e in chain(org)] == [(1, GENESIS)]


def _refused(org: Organization, sql: str) -> None:
    with (
        # the column grants refuse most changes, the trigger the rest
        pytest.raises(DatabaseError, match=r"append-only|permission denied"),
        tenant_context(org),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


def test_the_trigger_allows_the_seal_once_and_nothing_else() -> None:
    org = OrganizationFactory.create(slug="lincoln-usd")
    unsealed = record(Action.MEMBER_INVITED, organization=org)
    seal = (
        "UPDATE audit_auditevent SET sequence = 1, previous_hash = 'p', hash = 'h', "
        "sealed_at = now()"
    )
    # before sealing: content can neither change nor go, even with a seal alongside
    _refused(org, f"UPDATE audit_auditevent SET action = 'x' WHERE id = {unsealed.pk}")
    _refused(org, f"{seal}, target_id = 'x' WHERE id = {unsealed.pk}")
    _refused(org, f"UPDATE audit_auditevent SET sequence = 1 WHERE id = {unsealed.pk}")
    _refused(org, f"DELETE FROM audit_auditevent WHERE id = {unsealed.pk}")
    seal_chains()
    # sealed: nothing changes any more, the chain columns included
    _refused(org, "UPDATE audit_auditevent SET hash = 'x'")
    _refused(org, f"{seal} WHERE id = {unsealed.pk}")
    _refused(org, "UPDATE audit_auditevent SET sealed_at = now()")
    _refused(org, "DELETE FROM audit_auditevent")


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_after_a_later_one_was_sealed_follows_it() -> None:
    """Events commit out of id order; the sealer chains them in the order it finds them."""
    org = OrganizationFactory.create(slug="lincoln-usd")
    recorded, commit = threading.Event(), threading.Event()
    early: list[AuditEvent] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                early.append(record(Action.MEMBER_INVITED, organization=org))
                recorded.set()
                commit.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert recorded.wait(timeout=30)
    late = record(Action.MEMBER_ROLE_CHANGED, organization=org)
    assert seal_chain(org.pk) == 1  # the slow writer's event is not committed: not seen
    commit.set()
    thread.join(timeout=30)
    assert seal_chain(org.pk) == 1
    assert [(e.pk, e.sequence) for e in chain(org)] == [(late.pk, 1), (early[0].pk, 2)]
    assert early[0].pk < late.pk
    report = verify_chains(organization=org)
    assert report.intact, report.problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_organization", [True, False], ids=["same-org", "different-orgs"])
def test_concurrent_writers_keep_each_chain_linear(same_organization: bool) -> None:
    writers, events_each = 4, 15
    orgs = [OrganizationFactory.create(slug=f"race-{i}") for i in range(writers)]
    start = threading.Barrier(writers)
    errors: list[str] = []

    def write(organization: Organization) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(events_each):
                # a longer transaction than record() alone: the lock is held until commit
                with transaction.atomic():
                    record(Action.MEMBER_INVITED, organization=organization)
                    record(Action.SIGNED_IN)  # and every writer shares the platform chain
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(orgs[0] if same_organization else orgs[i],))
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    seal_chains()
    platform = chain(None)
    assert [e.sequence for e in platform] == list(range(1, writers * events_each + 1))
    if same_organization:
        assert len(chain(orgs[0])) == writers * events_each
    report = verify_chains()
    assert report.intact, report.problems
    assert report.events == 2 * writers * events_each


def test_checkpoints_sign_each_chain_head_once() -> None:
    org = OrganizationFactory.create(slug="lincoln-usd")
    record(Action.MEMBER_INVITED, organization=org)
    record(Action.MEMBER_INVITED, organization=org)
    record(Action.SIGNED_IN)
    assert checkpoint_chains() == 0  # nothing sealed yet: nothing to sign
    seal_chains()
    head = chain(org)[-1]

    assert checkpoint_chains() == 2
    assert checkpoint_chains() == 0  # nothing new: nothing signed
    with unscoped_all_tenants(reason="test"):
        checkpoint = AuditCheckpoint.objects.get(organization_id=org.pk)
        assert AuditCheckpoint.objects.filter(organization__isnull=True).count() == 1
    assert (checkpoint.sequence, checkpoint.hash) == (2, head.hash)
    assert signature_valid(checkpoint, trusted_public_keys())
    checkpoint.sequence = 1  # a signature over other values does not verify
    assert not signature_valid(checkpoint, trusted_public_keys())

    record(Action.MEMBER_INVITED, organization=org)
    seal_chains()
    assert checkpoint_chains() == 1


def test_checkpoints_are_scoped_and_append_only() -> None:
    org_a, org_b = (
        OrganizationFactory.create(slug="lincoln-usd"),
        OrganizationFactory.create(slug="hudson-csd"),
    )
    record(Action.MEMBER_INVITED, organization=org_a)
    seal_chains()
    checkpoint_chains()
    with tenant_context(org_b):
        assert not AuditCheckpoint.objects.exists()
    with tenant_context(org_a):
        assert AuditCheckpoint.objects.count() == 1
    with (
        pytest.raises(DatabaseError),
        unscoped_all_tenants(reason="test"),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditcheckpoint SET sequence = 9")


def test_a_malformed_signing_key_fails_the_system_check(
    settings: pytest.FixtureRequest,
) -> None:
    settings.AUDIT_CHECKPOINT_PRIVATE_KEY = "bm90IGEga2V5"  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r"audit\.E001.*AUDIT_CHECKPOINT_PRIVATE_KEY is malformed"):
        call_command("check")


def test_chain_heads_are_scoped_like_the_events() -> None:
    org_a, org_b = OrganizationFactory.create(slug="lincoln-usd"), OrganizationFactory.create()
    record(Action.MEMBER_INVITED, organization=org_a)
    record(Action.SIGNED_IN)
    seal_chains()
    last = chain(org_a)[-1]
    with tenant_context(org_b):
        assert not AuditChainHead.objects.exists()
    with tenant_context(org_a):
        assert list(AuditChainHead.objects.values_list("sequence", "hash")) == [(1, last.hash)]
    with unscoped_all_tenants(reason="test"):
        assert AuditChainHead.objects.count() == 2
