"""The audit call point: events land in the caller's transaction, scoped like tenant data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.actions import Action
from audit.chain import HASHED_FIELDS
from audit.context import Actor, ActorKind, acting_as
from audit.models import AuditEvent
from audit.services import record
from k12cloud.middleware import request_id
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from tests.protocol import server_queries

pytestmark = pytest.mark.django_db


def test_organization_event_is_visible_only_in_its_tenant() -> None:
    org_a = OrganizationFactory(slug="lincoln-usd")
    org_b = OrganizationFactory(slug="hudson-csd")
    with acting_as(Actor.system("test")):
        event = record(
            Action.MEMBER_ROLE_CHANGED,
            organization=org_a,
            target=("membership", 7),
            changes={"role": ["viewer", "org_admin"]},
        )
    with tenant_context(org_a):
        stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.target_type, stored.target_id) == (
        "members.role_changed",
        "membership",
        "7",
    )
    assert stored.actor_kind == ActorKind.SYSTEM and stored.actor_label == "test"
    with tenant_context(org_b):
        assert not AuditEvent.objects.filter(pk=event.pk).exists()


def test_platform_event_is_visible_only_to_all_tenant_contexts() -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    user = UserFactory.create()
    with acting_as(Actor(ActorKind.USER, user_id=user.pk, ip_address="203.0.113.9")):
        event = record(Action.SIGNED_IN, target=user)
    with tenant_context(org):
        assert not AuditEvent.objects.filter(pk=event.pk).exists()
    with unscoped_all_tenants(reason="test"):
        stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.organization_id is None
    assert (stored.actor_user_id, stored.ip_address) == (user.pk, "203.0.113.9")
    assert (stored.target_type, stored.target_id) == ("accounts.user", str(user.pk))


@contextmanager
def request_id_set(value: str) -> Iterator[None]:
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)


def test_every_field_lands_in_its_own_column() -> None:
    """record() passes the fields to audit_event_append() by position: none may swap."""
    org = OrganizationFactory.create(slug="lincoln-usd")
    actor = Actor(
        ActorKind.API_KEY,
        user_id=71,
        api_key_id=72,
        label="the label",
        ip_address="2001:DB8::1",
        user_agent="the agent",
    )
    with acting_as(actor), request_id_set("the-request"):
        event = record(
            Action.MEMBER_ROLE_CHANGED,
            organization=org,
            target=("the.type", "the-id"),
            changes={"role": ["viewer", "org_admin"], "count": 3},
        )
    with tenant_context(org):
        stored = AuditEvent.objects.get(pk=event.pk)
    assert {
        name: getattr(stored, name)
        for name in (*HASHED_FIELDS, "sequence", "previous_hash", "hash", "sealed_at")
    } == {
        "organization_id": org.pk,
        "occurred_at": event.occurred_at,
        "actor_kind": ActorKind.API_KEY,
        "actor_user_id": 71,
        "actor_api_key_id": 72,
        "actor_label": "the label",
        "ip_address": "2001:db8::1",
        "user_agent": "the agent",
        "action": "members.role_changed",
        "target_type": "the.type",
        "target_id": "the-id",
        "changes": {"role": ["viewer", "org_admin"], "count": 3},
        "request_id": "the-request",
        "sequence": None,
        "previous_hash": "",
        "hash": "",
        "sealed_at": None,
    }


def test_event_rolls_back_with_the_change() -> None:
    org = OrganizationFactory(slug="lincoln-usd")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Action.MEMBER_INVITED, organization=org)
        raise RuntimeError("the change failed")
    with tenant_context(org):
        assert not AuditEvent.objects.exists()


def test_unknown_action_strings_are_refused() -> None:
    with pytest.raises(TypeError, match=r"audit\.actions"):
        record("members.whatever")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'edited'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_runtime_role_cannot_change_events(statement: str) -> None:
    record(Action.DEMO_DATA_SEEDED, actor=Actor.system("test"))
    with (
        pytest.raises(DatabaseError),
        unscoped_all_tenants(reason="test"),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_the_append_function_is_bound_by_row_level_security() -> None:
    # audit_event_append() runs with the caller's rights: acting for one organization, a row
    # for another is refused by the policy, as the INSERT written out was
    org_a = OrganizationFactory.create()
    org_b = OrganizationFactory.create()
    arguments = ", ".join(["%s"] * len(HASHED_FIELDS))
    values: dict[str, int | str | None] = {
        "organization_id": org_b.pk,
        "occurred_at": "2026-12-05T00:00:00Z",
        "actor_kind": "system",
        "actor_user_id": None,
        "actor_api_key_id": None,
        "actor_label": "test",
        "ip_address": None,
        "user_agent": "",
        "action": "members.role_changed",
        "target_type": "",
        "target_id": "",
        "changes": "{}",
        "request_id": "",
    }
    with (
        tenant_context(org_a),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"SELECT audit_event_append({arguments})", [values[f] for f in HASHED_FIELDS]
        )
    with tenant_context(org_b):
        assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_recorded_outside_any_transaction_is_one_round_trip() -> None:
    # no transaction open (a task or command between its transactions): the event is a
    # transaction of its own, one prepared statement that sets its chain's context itself
    organization = OrganizationFactory.create()
    events: list[AuditEvent] = []

    def write() -> None:
        with acting_as(Actor.system("test")):
            events.append(
                record(
                    Action.MEMBER_ROLE_CHANGED,
                    organization=organization,
                    target=("accounts.membership", 42),
                    changes={"role": ["viewer", "privacy_staff"]},
                )
            )
            events.append(record(Action.DEMO_DATA_SEEDED))  # a platform event

    write()  # prepares the statements on this connection
    with CaptureQueriesContext(connection) as captured:
        received = server_queries(write)
    assert received == ["Sync", "Sync"]  # one round trip per event
    logged = [q["sql"] for q in captured.captured_queries]
    assert logged[0].startswith(
        "WITH acting AS MATERIALIZED (SELECT set_config('k12cloud.organization_id', "
        f"'{organization.pk}', true), set_config('k12cloud.user_id', '', true), "
        "set_config('k12cloud.all_tenants', '', true)) SELECT audit_event_append("
    )
    assert logged[1].startswith(
        "WITH acting AS MATERIALIZED (SELECT set_config('k12cloud.organization_id', '', true), "
        "set_config('k12cloud.user_id', '', true), "
        "set_config('k12cloud.all_tenants', 'on', true)) SELECT audit_event_append("
    )
    assert not connection.in_atomic_block
    with tenant_context(organization):
        stored = list(AuditEvent.objects.order_by("id"))
    assert [(e.pk, e.action, e.changes, e.sequence) for e in stored[-1:]] == [
        (events[2].pk, "members.role_changed", {"role": ["viewer", "privacy_staff"]}, None)
    ]
    with unscoped_all_tenants(reason="test"):
        assert AuditEvent.objects.get(pk=events[3].pk).organization_id is None
