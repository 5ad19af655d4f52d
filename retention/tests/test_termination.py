"""Terminating an organization: recorded, audited, members lose access, admins are told the
de-identification date; a written request moves the date within 30 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import ApiKey, Organization
from accounts.permissions import Role
from accounts.tests.factories import member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from retention.termination import (
    deidentification_due_on,
    organization_deletion_request_record,
    organization_terminate,
)
from retention.tests.seeding import new_organization

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def emails(org: Organization) -> list[tuple[str, str, str]]:
    with tenant_context(org):
        return [(e.to, e.template, e.subject) for e in OutboundEmail.objects.order_by("pk")]


def test_termination_records_stops_access_and_tells_the_admins_the_date() -> None:
    org = new_organization(slug="closing-usd")
    admin = member(org, Role.ORG_ADMIN, email="admin@closing.example")
    member(org, Role.VIEWER, email="viewer@closing.example")
    other_org = new_organization(slug="staying-usd")
    with tenant_context(other_org):
        from accounts.models import Membership

        Membership.objects.create(organization=other_org, user=admin, role=Role.VIEWER)
    with tenant_context(org):
        key = ApiKey.objects.create(
            organization=org, name="sync", role=Role.VIEWER, prefix="pterm", secret_hash="0" * 64
        )
    client = sign_in(Client(), admin)
    assert client.get("/o/closing-usd/").status_code == 200

    with time_machine.travel(NOW, tick=False):
        organization_terminate(organization=org, actor=None, reason="contract ended")
        organization_terminate(organization=org, actor=None)  # again: nothing more happens

    org.refresh_from_db()
    assert org.status == Organization.Status.TERMINATED and org.terminated_at == NOW
    assert deidentification_due_on(org) == date(2026, 5, 31)  # 90 days, Los Angeles dates
    assert client.get("/o/closing-usd/").status_code == 404  # members lose access
    assert client.get("/o/staying-usd/").status_code == 200  # but not to other organizations
    with tenant_context(org):
        assert ApiKey.objects.get(pk=key.pk).revoked_at == NOW
        (event,) = AuditEvent.objects.filter(action=Action.ORGANIZATION_TERMINATED.value)
    assert event.changes["deidentification_due_on"] == "2026-05-31"
    assert event.changes["api_keys_revoked"] == 1
    sent = emails(org)
    assert sent == [
        (
            "admin@closing.example",
            "retention/email/terminated",
            "Your k-12.cloud organization was closed",
        )
    ]
    with tenant_context(org):
        body = OutboundEmail.objects.get().body_text
    assert "May 31, 2026" in body
    # the admin exports it themselves, until de-identification (exports/)
    assert f"/o/{org.slug}/exports/" in body and "support@" not in body


def test_a_written_request_moves_the_date_to_within_30_days() -> None:
    org = new_organization()
    member(org, Role.ORG_ADMIN, email="admin@closing.example")
    with time_machine.travel(NOW, tick=False):
        organization_terminate(organization=org, actor=None)
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        organization_deletion_request_record(organization=org, actor=None)
        organization_deletion_request_record(organization=org, actor=None)  # the first counts
    org.refresh_from_db()
    assert deidentification_due_on(org) == date(2026, 4, 6)  # March 7 + 30 days
    with tenant_context(org):
        (event,) = AuditEvent.objects.filter(action=Action.DELETION_REQUEST_RECORDED.value)
    assert event.changes == {"deidentification_due_on": ["2026-05-31", "2026-04-06"]}
    assert [t for _, t, _ in emails(org)] == [
        "retention/email/terminated",
        "retention/email/deletion_scheduled",
    ]


def test_a_late_written_request_never_pushes_the_date_past_90_days() -> None:
    org = new_organization()
    with time_machine.travel(NOW, tick=False):
        organization_terminate(organization=org, actor=None)
    with time_machine.travel(NOW + timedelta(days=80), tick=False):
        organization_deletion_request_record(organization=org, actor=None)
    org.refresh_from_db()
    assert deidentification_due_on(org) == date(2026, 5, 31)


def test_a_written_request_needs_a_terminated_organization() -> None:
    org = new_organization()
    with pytest.raises(ValidationError) as refused:
        organization_deletion_request_record(organization=org, actor=None)
    assert list(refused.value.message_dict) == ["organization"]
    org.refresh_from_db()
    assert org.deletion_requested_at is None


def test_a_request_received_in_the_future_is_refused() -> None:
    org = new_organization()
    with time_machine.travel(NOW, tick=False):
        organization_terminate(organization=org, actor=None)
        with pytest.raises(ValidationError) as refused:
            organization_deletion_request_record(
                organization=org, actor=None, received_at=NOW + timedelta(days=1)
            )
    assert list(refused.value.message_dict) == ["received_at"]
