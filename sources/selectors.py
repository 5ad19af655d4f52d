"""Reads of the SIS sources that pages, the API and the package share.

Every selector takes the organization. SIS rows are personal data: callers are pages and
endpoints whose permission (`sources.read`) only the roles that may read requester personal
data hold (accounts.permissions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from k12cloud.encryption.keys import data_keys_preloaded
from sources.models import DataSource, SisRecord, SourceImport, StudentLink

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest


def data_source_list(*, organization: Organization) -> QuerySet[DataSource]:
    return DataSource.objects.for_organization(organization).order_by("name", "pk")


def data_source_get(*, organization: Organization, source_id: int) -> DataSource:
    """The source, or DataSource.DoesNotExist (another tenant's source is the same answer)."""
    return data_source_list(organization=organization).get(pk=source_id)


def source_import_list(*, organization: Organization, source: DataSource) -> QuerySet[SourceImport]:
    return (
        SourceImport.objects.for_organization(organization)
        .filter(source=source)
        .select_related("started_by")
        .order_by("-started_at", "-pk")
    )


def source_import_get(*, organization: Organization, import_id: int) -> SourceImport:
    return (
        SourceImport.objects.for_organization(organization)
        .select_related("source", "started_by")
        .get(pk=import_id)
    )


def current_imports(*, organization: Organization) -> dict[int, SourceImport]:
    """Each CSV source's import in use (its latest successful one), by source id. (A REST
    source is searched live; its imports are single students fetched for a request.)"""
    latest: dict[int, SourceImport] = {}
    rows = (
        SourceImport.objects.for_organization(organization)
        .filter(status=SourceImport.Status.SUCCEEDED, source__kind=DataSource.Kind.ONEROSTER_CSV)
        .select_related("source")
        .order_by("source_id", "-started_at", "-pk")
        .distinct("source_id")
    )
    for row in rows:
        latest[row.source_id] = row
    return latest


def student_links_for_request(
    *, organization: Organization, request: PrivacyRequest
) -> list[StudentLink]:
    with data_keys_preloaded(organization.pk):
        links = list(
            StudentLink.objects.for_organization(organization)
            .filter(request=request)
            .select_related("source", "source_import", "confirmed_by", "sis_deletion_recorded_by")
            .order_by("confirmed_at", "pk")
        )
        for link in links:
            _ = link.summary, link.sis_deletion_note  # decrypted while the keys are loaded
    return links


def records_by_sourced_id(
    *, organization: Organization, source_import_id: int, kind: str, indexes: list[str]
) -> list[SisRecord]:
    if not indexes:
        return []
    return list(
        SisRecord.objects.for_organization(organization).filter(
            source_import_id=source_import_id, kind=kind, sourced_id_index__in=indexes
        )
    )
