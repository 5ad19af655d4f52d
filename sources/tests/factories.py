"""Bare rows for tests that need only ids (URL sweep, permission table)."""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.tests.factories import stored_request
from sources.models import DataSource, SisRecord, SourceImport, StudentLink


def data_source(organization: Organization, name: str = "Test SIS") -> DataSource:
    with tenant_context(organization):
        return DataSource.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={"kind": DataSource.Kind.ONEROSTER_CSV},
        )[0]


def refused_import(organization: Organization) -> SourceImport:
    source = data_source(organization)
    with tenant_context(organization):
        return SourceImport.objects.create(
            organization=organization,
            source=source,
            file_name="broken.zip",
            status=SourceImport.Status.FAILED,
            errors=[{"file": "manifest.csv", "line": None, "field": "", "message": "is missing"}],
        )


def student_link(organization: Organization) -> StudentLink:
    """A link of the organization's latest request (a new one if none) to a one-row import
    (for ids only: URL tables build the request id first, then the link's)."""
    source = data_source(organization)
    with tenant_context(organization):
        request = PrivacyRequest.objects.order_by("-pk").first()
    request = request or stored_request(organization, request_type="delete")
    with tenant_context(organization):
        source_import = SourceImport.objects.create(
            organization=organization, source=source, status=SourceImport.Status.SUCCEEDED
        )
        record = SisRecord.objects.create(
            organization=organization,
            source_import=source_import,
            kind=SisRecord.Kind.USER,
            sourced_id_index="-",
            data='{"sourcedId": "stu-1", "derived": {"orgSourcedIds": []}}',
        )
        return StudentLink.objects.create(
            organization=organization,
            request=request,
            source=source,
            source_import=source_import,
            record=record,
            sourced_id="stu-1",
        )
