"""Builders for the trust center's tests (and the permission table's KWARGS)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.cache import cache
from django.utils import timezone

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import member
from k12cloud.tenancy import tenant_context
from trust.models import DocumentKind, DocumentVersion, DpaAcceptance
from trust.services import document_version_publish

DPA_V1 = """# Data Processing Addendum

1. k-12.cloud processes student data only to provide the service.
2. Subprocessors are listed on the subprocessor page.
3. Data is deleted within 60 days of termination.
"""
DPA_V2 = """# Data Processing Addendum

1. k-12.cloud processes student data only to provide the service.
2. Subprocessors are listed on the subprocessor page, with 30 days' notice of additions.
3. Data is deleted within 30 days of termination.
4. Breaches are notified within 72 hours.
"""


def forget_trust_cache() -> None:
    """Delete every trust:* cache entry of this test run (the real Redis, its key prefix)."""
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    for key in client.scan_iter(match=cache.make_key("trust:*")):
        client.delete(key)


def draft(
    document: str = DocumentKind.DPA,
    *,
    body: str = DPA_V1,
    material: bool = False,
    effective_on: date | None = None,
    summary: str = "First version.",
) -> DocumentVersion:
    return DocumentVersion.objects.create(
        document=document,
        body=body,
        summary=summary,
        material=material,
        effective_on=effective_on or timezone.now().date(),
    )


def published(
    document: str = DocumentKind.DPA,
    *,
    body: str = DPA_V1,
    material: bool = False,
    effective_on: date | None = None,
    summary: str = "First version.",
) -> DocumentVersion:
    version = draft(
        document, body=body, material=material, effective_on=effective_on, summary=summary
    )
    return document_version_publish(version_id=version.pk)[0]


def a_dpa_acceptance(organization: Organization) -> DpaAcceptance:
    version = (
        DocumentVersion.objects.filter(document=DocumentKind.DPA, published_at__isnull=False)
        .order_by("-number")
        .first()
    ) or published(effective_on=timezone.now().date() - timedelta(days=0))
    user = member(organization, Role.ORG_ADMIN)
    with tenant_context(organization):
        acceptance, _ = DpaAcceptance.objects.get_or_create(
            organization=organization,
            version=version,
            defaults={
                "user": user,
                "version_hash": version.content_hash,
                "ip_address": "192.0.2.1",
            },
        )
    return acceptance
