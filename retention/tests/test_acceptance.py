"""Issue #7 acceptance, with time pinned: the 90/30-day schedule, holds, idempotent sweeps,
resuming a killed run, and no personal value left anywhere in the database afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from accounts.models import Membership, Organization, User
from accounts.tests.factories import member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.encryption.keys import KeyDestroyed
from k12cloud.encryption.models import OrganizationDataKey
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.tests.factories import stored_request
from retention import tasks
from retention.engine import InjectedFailure
from retention.models import RetentionRun
from retention.services import legal_hold_place
from retention.sweep import Outcome, organization_retention_run
from retention.termination import organization_deletion_request_record, organization_terminate
from retention.tests.seeding import Seeded, new_organization, seed_organization

pytestmark = pytest.mark.django_db

TERMINATED_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles


def statistics(organization: Organization) -> list[tuple[str, str, str, int]]:
    from django.db.models import Count
    from django.db.models.functions import ExtractYear

    with tenant_context(organization):
        return list(
            PrivacyRequest.objects.values_list("request_type", "status", "outcome")
            .annotate(year=ExtractYear("received_at"), n=Count("pk"))
            .order_by("request_type", "status", "outcome")
        )


def requester_name_readable(organization: Organization) -> bool:
    with tenant_context(organization):
        request = PrivacyRequest.objects.order_by("pk").first()
        assert request is not None
        return bool(request.requester_name)


def terminated(slug: str = "closing-usd", *, requests: int = 3) -> Seeded:
    with time_machine.travel(TERMINATED_AT, tick=False):
        seeded = seed_organization(slug, requests=requests)
        organization_terminate(organization=seeded.organization, actor=None)
    seeded.organization.refresh_from_db()
    return seeded


def sweep_at(moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        tasks.sweep.apply().get()


@pytest.fixture(autouse=True)
def _eager(eager_celery: None) -> None:
    pass


def test_89_days_after_termination_nothing_is_touched_and_at_90_it_is_deidentified() -> None:
    seeded = terminated()
    org = seeded.organization
    sweep_at(TERMINATED_AT + timedelta(days=89))
    assert requester_name_readable(org)
    with tenant_context(org):
        assert not RetentionRun.objects.exists()
        assert OrganizationDataKey.objects.filter(destroyed_at__isnull=True).exists()

    sweep_at(TERMINATED_AT + timedelta(days=90))
    with tenant_context(org):
        run = RetentionRun.objects.get()
        assert run.status == RetentionRun.Status.COMPLETED
        assert run.due_on == date(2026, 5, 31)
        assert not OrganizationDataKey.objects.filter(destroyed_at__isnull=True).exists()
    with pytest.raises(KeyDestroyed):
        requester_name_readable(org)


def test_a_written_request_brings_the_date_within_30_days() -> None:
    seeded = terminated()
    org = seeded.organization
    requested = TERMINATED_AT + timedelta(days=10)
    with time_machine.travel(requested, tick=False):
        organization_deletion_request_record(organization=org, actor=None)
    sweep_at(requested + timedelta(days=29))
    with tenant_context(org):
        assert not RetentionRun.objects.exists()
    sweep_at(requested + timedelta(days=30))
    with tenant_context(org):
        assert RetentionRun.objects.get().status == RetentionRun.Status.COMPLETED


def test_an_organization_under_legal_hold_is_never_touched() -> None:
    seeded = terminated()
    org = seeded.organization
    with time_machine.travel(TERMINATED_AT + timedelta(days=1), tick=False):
        legal_hold_place(
            organization=org,
            actor=None,
            scope="request",
            request=seeded.requests[1],
            reason="Litigation hold: Doe v. District",
            ends_on=date(2030, 1, 1),
        )
    for days in (90, 365, 1000):
        sweep_at(TERMINATED_AT + timedelta(days=days))
        with time_machine.travel(TERMINATED_AT + timedelta(days=days), tick=False):
            assert organization_retention_run(organization_id=org.pk) == Outcome.HELD
    assert requester_name_readable(org)
    with tenant_context(org):
        assert not RetentionRun.objects.exists()


def test_running_the_sweep_twice_changes_nothing_the_second_time() -> None:
    seeded = terminated()
    org = seeded.organization
    sweep_at(TERMINATED_AT + timedelta(days=90))

    def snapshot() -> tuple[object, ...]:
        with unscoped_all_tenants(reason="test snapshot"), connection.cursor() as cursor:
            cursor.execute(
                "SELECT md5(string_agg(t::text, ',' ORDER BY id)) "
                "FROM privacy_requests_privacyrequest t WHERE organization_id = %s",
                [org.pk],
            )
            requests = cursor.fetchone()
            run = RetentionRun.objects.get(organization=org)
            events = AuditEvent.objects.filter(organization_id=org.pk).count()
            users = User.objects.filter(email__startswith="deidentified-").count()
            return requests, run.log_sha256, run.attempts, events, users

    before = snapshot()
    sweep_at(TERMINATED_AT + timedelta(days=91))
    assert snapshot() == before


def test_a_run_killed_halfway_finishes_on_the_next_run() -> None:
    seeded = terminated(requests=7)
    org = seeded.organization
    at = TERMINATED_AT + timedelta(days=90)
    with (
        time_machine.travel(at, tick=False),
        override_settings(RETENTION_FAIL_AFTER_CHUNKS=3, RETENTION_CHUNK_SIZE=2),
        pytest.raises(InjectedFailure),
    ):
        organization_retention_run(organization_id=org.pk)
    with tenant_context(org):
        run = RetentionRun.objects.get()
        assert run.status == RetentionRun.Status.RUNNING
        progress = run.progress["privacy_requests.PrivacyRequest"]
        assert progress["done"] == 6 and not progress.get("finished")  # 3 chunks of 2 committed
        assert OrganizationDataKey.objects.filter(destroyed_at__isnull=True).exists()

    with override_settings(RETENTION_CHUNK_SIZE=2):
        sweep_at(at + timedelta(hours=1))
    with tenant_context(org):
        run = RetentionRun.objects.get()
        assert run.status == RetentionRun.Status.COMPLETED
        assert run.attempts == 2
        assert run.progress["privacy_requests.PrivacyRequest"]["done"] == 7  # none twice
        assert run.progress["privacy_requests.PrivacyRequest"]["total"] == 7


TEXT_COLUMNS = """
    SELECT c.table_name, c.column_name, c.data_type
    FROM information_schema.columns c
    JOIN information_schema.tables t
      ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea',
                          'inet', 'ARRAY')
    ORDER BY 1, 2
"""


def find_everywhere(values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every seeded value found in any text-like column."""
    found = []
    reason = "test searches every table for seeded personal values"
    with unscoped_all_tenants(reason=reason), connection.cursor() as cursor:
        cursor.execute(TEXT_COLUMNS)
        columns = cursor.fetchall()
        assert len(columns) > 50  # the query found the schema
        for table, column, data_type in columns:
            as_text = (
                f"encode({connection.ops.quote_name(column)}, 'escape')"
                if data_type == "bytea"
                else f"{connection.ops.quote_name(column)}::text"
            )
            for value in values:
                cursor.execute(
                    f"SELECT 1 FROM {connection.ops.quote_name(table)} "
                    f"WHERE strpos(lower({as_text}), lower(%s)) > 0 LIMIT 1",
                    [value],
                )
                if cursor.fetchone():
                    found.append((table, column, value))
    return found


def test_after_deidentification_no_seeded_value_is_anywhere_and_the_statistics_remain() -> None:
    seeded = terminated()
    org = seeded.organization
    # a second organization's identical request must survive: the engine is tenant-scoped
    other = new_organization(slug="staying-usd")
    kept = stored_request(other, requester_name="Someone Else Entirely")
    before = statistics(org)
    assert find_everywhere(seeded.values)  # the search finds them while they are there

    sweep_at(TERMINATED_AT + timedelta(days=90))

    assert find_everywhere(seeded.values) == []
    assert statistics(org) == before  # counts by type, status, outcome and year survive
    with tenant_context(org):
        assert PrivacyRequest.objects.count() == 3
        assert RequestMessage.objects.count() == 1
        assert OrganizationDataKey.objects.filter(destroyed_at__isnull=True).count() == 0
        message = RequestMessage.objects.get()
    with pytest.raises(KeyDestroyed):
        _ = message.body
    admin = User.objects.get(pk=seeded.admin.pk)
    assert not admin.is_active and not admin.has_usable_password()
    with tenant_context(other):
        assert PrivacyRequest.objects.get(pk=kept.pk).requester_name == "Someone Else Entirely"
    with unscoped_all_tenants(reason="test reads the audit trail"):
        actions = list(
            AuditEvent.objects.filter(organization_id=org.pk)
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert actions[-4:] == [
        Action.RETENTION_RUN_STARTED.value,
        Action.KEY_DESTROYED.value,
        Action.RETENTION_CERTIFICATE_ISSUED.value,
        Action.RETENTION_RUN_COMPLETED.value,
    ]


def test_a_user_who_also_works_elsewhere_keeps_the_account() -> None:
    seeded = terminated()
    elsewhere = new_organization(slug="other-usd")
    with tenant_context(elsewhere):
        Membership.objects.create(organization=elsewhere, user=seeded.admin, role="viewer")
    only_here = member(seeded.organization, email="only.here@terminated.example")
    sweep_at(TERMINATED_AT + timedelta(days=90))
    seeded.admin.refresh_from_db()
    only_here.refresh_from_db()
    assert seeded.admin.email == "evangeline.admintester@terminated.example"
    assert seeded.admin.is_active
    assert only_here.email.startswith("deidentified-user-") and not only_here.is_active
