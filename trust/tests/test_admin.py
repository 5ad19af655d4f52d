"""Ops staff draft and publish in the admin; published versions are read-only there."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory, sign_in
from trust.models import DocumentVersion, MaintenanceWindow
from trust.tests.factories import DPA_V1, draft, published

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def ops_client() -> Client:
    """Ops staff signed in (at the current, possibly pinned, time: sessions expire)."""
    return sign_in(Client(), UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))


@pytest.fixture
def ops() -> Client:
    return ops_client()


def test_ops_draft_then_publish_with_the_admin_action() -> None:
    with time_machine.travel(NOW, tick=False):
        ops = ops_client()
        response = ops.post(
            reverse("admin:trust_documentversion_add"),
            {
                "document": "dpa",
                "body": DPA_V1,
                "summary": "First",
                "material": "on",
                "effective_on": "2027-03-30",
            },
        )
        assert response.status_code == 302
        version = DocumentVersion.objects.get()
        refused = ops.post(
            reverse("admin:trust_documentversion_changelist"),
            {"action": "publish", "_selected_action": [version.pk]},
            follow=True,
        )
        assert "earliest allowed effective date is 2027-03-31" in refused.content.decode()
        version.refresh_from_db()
        assert version.published_at is None
        ops.post(
            reverse("admin:trust_documentversion_change", args=[version.pk]),
            {
                "document": "dpa",
                "body": DPA_V1,
                "summary": "First",
                "material": "on",
                "effective_on": "2027-03-31",
            },
        )
        done = ops.post(
            reverse("admin:trust_documentversion_changelist"),
            {"action": "publish", "_selected_action": [version.pk]},
            follow=True,
        )
        assert "Published Data Processing Addendum v1" in done.content.decode()
        again = ops.post(
            reverse("admin:trust_documentversion_changelist"),
            {"action": "publish", "_selected_action": [version.pk]},
            follow=True,
        )
        assert "was already published" in again.content.decode()


def test_the_admin_refuses_to_edit_or_delete_a_published_version(ops: Client) -> None:
    version = published(effective_on=date.today())
    change = reverse("admin:trust_documentversion_change", args=[version.pk])
    page = ops.get(change)
    assert page.status_code == 200  # viewable, read-only
    assert 'name="body"' not in page.content.decode()
    response = ops.post(
        change,
        {"document": "dpa", "body": "rewritten", "summary": "", "effective_on": "2030-01-01"},
    )
    assert response.status_code == 403
    delete = ops.post(
        reverse("admin:trust_documentversion_delete", args=[version.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    version.refresh_from_db()
    assert version.body == DPA_V1


def test_a_draft_is_editable_in_the_admin(ops: Client) -> None:
    version = draft()
    page = ops.get(reverse("admin:trust_documentversion_change", args=[version.pk]))
    assert 'name="body"' in page.content.decode()


def test_ops_schedule_maintenance_in_the_admin_and_see_the_budget() -> None:
    with time_machine.travel(NOW, tick=False):
        ops = ops_client()
        add = ops.get(reverse("admin:trust_maintenancewindow_add"))
        assert "2027: 8 h 00 min" in add.content.decode()
        refused = ops.post(
            reverse("admin:trust_maintenancewindow_add"),
            {
                "kind": "planned",
                "starts_at_0": "2027-03-08",
                "starts_at_1": "11:00:00",
                "ends_at_0": "2027-03-08",
                "ends_at_1": "12:00:00",
                "services": ["web"],
                "summary": "Database upgrade",
            },
        )
        assert refused.status_code == 200
        assert "earliest allowed start is 2027-03-08 12:00 UTC" in refused.content.decode()
        assert MaintenanceWindow.objects.count() == 0
        done = ops.post(
            reverse("admin:trust_maintenancewindow_add"),
            {
                "kind": "planned",
                "starts_at_0": "2027-03-08",
                "starts_at_1": "12:00:00",
                "ends_at_0": "2027-03-08",
                "ends_at_1": "14:00:00",
                "services": ["web", "api"],
                "summary": "Database upgrade",
            },
        )
        assert done.status_code == 302
        window = MaintenanceWindow.objects.get()
        assert window.services == ["web", "api"]
        page = ops.get(reverse("admin:trust_maintenancewindow_change", args=[window.pk]))
        assert "2027: 8 h 00 min" in page.content.decode()  # itself excluded
        add = ops.get(reverse("admin:trust_maintenancewindow_add"))
        assert "2027: 6 h 00 min" in add.content.decode()


def test_ops_read_objections_and_acceptances_in_the_admin(ops: Client) -> None:
    from accounts.permissions import Role
    from accounts.tests.factories import OrganizationFactory, member
    from k12cloud.tenancy import tenant_context
    from trust.services import objection_record
    from trust.tests.factories import a_dpa_acceptance

    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    acceptance = a_dpa_acceptance(org)
    upcoming = published(effective_on=date(2099, 1, 1), summary="Later")
    with tenant_context(org):
        objection = objection_record(
            organization=org,
            actor=member(org, Role.ORG_ADMIN),
            version_id=upcoming.pk,
            text="We need 60 days to review.",
        )
    listing = ops.get(reverse("admin:trust_documentobjection_changelist"))
    assert listing.status_code == 200 and "Lincoln USD" in listing.content.decode()
    page = ops.get(reverse("admin:trust_documentobjection_change", args=[objection.pk]))
    assert "We need 60 days to review." in page.content.decode()
    accepted = ops.get(reverse("admin:trust_dpaacceptance_changelist"))
    assert acceptance.receipt_number in accepted.content.decode()
