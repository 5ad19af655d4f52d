"""The ops admin: terminate and record a written request through the actions; runs,
certificates and holds are listed read-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from accounts.tests.factories import UserFactory, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from retention.tests.seeding import new_organization

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


@pytest.fixture
def ops() -> Client:
    client = Client()
    sign_in(client, UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))
    return client


def test_ops_terminate_then_record_the_written_request(ops: Client) -> None:
    org = new_organization(slug="closing-usd")
    url = reverse("admin:retention_organizationretention_changelist")
    assert ops.get(url).status_code == 200
    with time_machine.travel(NOW, tick=False):
        response = ops.post(url, {"action": "terminate", "_selected_action": [org.pk]})
        assert response.status_code == 302
        response = ops.post(
            url, {"action": "record_written_deletion_request", "_selected_action": [org.pk]}
        )
        assert response.status_code == 302
    org.refresh_from_db()
    assert org.status == Organization.Status.TERMINATED
    assert org.deletion_requested_at == NOW
    with tenant_context(org):
        event = AuditEvent.objects.get(action=Action.ORGANIZATION_TERMINATED.value)
    assert event.actor_user_id is not None  # the ops user, from the request
    assert ops.get(url).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "admin:retention_retentionrun_changelist",
        "admin:retention_legalhold_changelist",
        "admin:retention_retentionrule_changelist",
        "admin:retention_deidentificationcertificate_changelist",
    ],
)
def test_lists_open_for_ops(ops: Client, name: str) -> None:
    assert ops.get(reverse(name)).status_code == 200
