"""The hash chain written by record(): links, canonical hashing, concurrency, checkpoints."""

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

    a = chain(org_a)
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
            changes={"z": 1e16, "a": [2.0, 0.5, None, True], "roles": ("viewer", "org_admin")},
        )
    (stored,) = chain(org)
    assert stored.ip_address == "2001:db8::1"  # spelled differently by PostgreSQL
    assert stored.hash == written.hash == event_hash(vars(stored))
    # and the hash really covers the fields
    stored.changes = {"z": 1e16, "a": [2.0, 0.5, None, False], "roles": ["viewer", "org_admin"]}
    assert event_hash(vars(stored)) != written.hash


def test_a_rolled_back_event_leaves_no_gap() -> None:
    org = OrganizationFactory.create(slug="lincoln-usd")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Action.MEMBER_INVITED, organization=org)
        raise RuntimeError("the change failed")
    record(Action.MEMBER_INVITED, organization=org)
    assert [(e.sequence, e.previous_hash) for e in chain(org)] == [(1, GENESIS)]


def test_the_chain_columns_are_append_only_too() -> None:
    org = OrganizationFactory.create(slug="lincoln-usd")
    record(Action.MEMBER_INVITED, organization=org)
    with (
        pytest.raises(DatabaseError),
        tenant_context(org),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET hash = 'x'")


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
    head = record(Action.MEMBER_INVITED, organization=org)
    record(Action.SIGNED_IN)

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
    assert checkpoint_chains() == 1


def test_checkpoints_are_scoped_and_append_only() -> None:
    org_a, org_b = (
        OrganizationFactory.create(slug="lincoln-usd"),
        OrganizationFactory.create(slug="hudson-csd"),
    )
    record(Action.MEMBER_INVITED, organization=org_a)
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
    last = record(Action.MEMBER_INVITED, organization=org_a)
    record(Action.SIGNED_IN)
    with tenant_context(org_b):
        assert not AuditChainHead.objects.exists()
    with tenant_context(org_a):
        assert list(AuditChainHead.objects.values_list("sequence", "hash")) == [(1, last.hash)]
    with unscoped_all_tenants(reason="test"):
        assert AuditChainHead.objects.count() == 2
