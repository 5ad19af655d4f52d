"""Reads of exports: the organization is a required argument (another tenant's is a 404)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from exports.models import OrganizationExport

HISTORY_LENGTH = 50


def export_list(*, organization: Organization) -> QuerySet[OrganizationExport]:
    """The organization's exports, newest first, with who asked (one query)."""
    return (
        OrganizationExport.objects.for_organization(organization)
        .select_related("requested_by")
        .order_by("-created_at", "-pk")
    )


def export_get(*, organization: Organization, export_id: int) -> OrganizationExport:
    """One export; OrganizationExport.DoesNotExist for an unknown id or another tenant's."""
    return OrganizationExport.objects.for_organization(organization).get(pk=export_id)


def export_active(*, organization: Organization) -> OrganizationExport | None:
    return (
        OrganizationExport.objects.for_organization(organization)
        .filter(status__in=OrganizationExport.ACTIVE)
        .first()
    )
