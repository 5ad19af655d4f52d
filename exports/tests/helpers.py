from __future__ import annotations

import io
import zipfile

from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from exports.models import OrganizationExport
from exports.services import export_request, export_run
from k12cloud.tenancy import tenant_context


def completed_export(organization: Organization, admin: User | None) -> OrganizationExport:
    """An export run to completion by the worker's own code (in this process)."""
    export = export_request(
        organization=organization,
        actor=admin,
        via=OrganizationExport.Via.PORTAL,
        enqueue=False,
    )
    assert export_run(organization=organization, export_id=export.pk) == "completed"
    with tenant_context(organization):
        export.refresh_from_db()
    return export


def download(client: Client, organization: Organization, export: OrganizationExport) -> bytes:
    response = client.post(
        reverse(
            "accounts:export_download",
            kwargs={"org_slug": organization.slug, "export_id": export.pk},
        )
    )
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}
