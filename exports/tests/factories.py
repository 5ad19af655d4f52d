"""Bare rows for the URL sweep and the permission table."""

from __future__ import annotations

from accounts.models import Organization
from exports.models import OrganizationExport
from k12cloud.tenancy import tenant_context


def an_export(organization: Organization) -> OrganizationExport:
    """A finished export whose file is gone (downloading it answers 410)."""
    with tenant_context(organization):
        return OrganizationExport.objects.create(
            organization=organization, via="api", status=OrganizationExport.Status.EXPIRED
        )
