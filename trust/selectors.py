"""Reads of the trust center: documents, maintenance windows, an organization's DPA status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import QuerySet

from accounts.models import Organization
from trust.models import (
    DocumentKind,
    DocumentObjection,
    DocumentVersion,
    DpaAcceptance,
    MaintenanceKind,
    MaintenanceWindow,
)
from trust.rules import BANNER_DAYS_AFTER_EFFECTIVE, MAINTENANCE_NOTICE, utc_today


def published_versions(document: str) -> QuerySet[DocumentVersion]:
    return DocumentVersion.objects.filter(document=document, published_at__isnull=False).order_by(
        "-number"
    )


@dataclass(frozen=True)
class DocumentState:
    document: str
    current: DocumentVersion | None
    upcoming: list[DocumentVersion]
    past: list[DocumentVersion]  # superseded versions, newest first

    @property
    def label(self) -> str:
        return str(DocumentKind(self.document).label)


def document_state(document: str, *, now: datetime) -> DocumentState:
    """The version in effect today (UTC), the versions to come, the superseded ones (1 query)."""
    today = utc_today(now)
    versions = list(published_versions(document))
    upcoming = sorted((v for v in versions if v.effective_on > today), key=lambda v: v.number or 0)
    in_effect = [v for v in versions if v.effective_on <= today]
    current = max(in_effect, key=lambda v: (v.effective_on, v.number), default=None)
    past = [v for v in in_effect if v is not current]
    return DocumentState(document=document, current=current, upcoming=upcoming, past=past)


def document_version_get(document: str, number: int) -> DocumentVersion | None:
    return published_versions(document).filter(number=number).first()


def previous_version(version: DocumentVersion) -> DocumentVersion | None:
    assert version.number is not None
    return published_versions(version.document).filter(number__lt=version.number).first()


def dpa_target(*, now: datetime) -> DocumentVersion | None:
    """The DPA version an organization is asked to accept: the one in effect, else the next."""
    state = document_state(DocumentKind.DPA, now=now)
    return state.current or (state.upcoming[0] if state.upcoming else None)


def dpa_acceptances(*, organization: Organization) -> list[DpaAcceptance]:
    return list(
        DpaAcceptance.objects.for_organization(organization)
        .select_related("version", "user")
        .order_by("-accepted_at")
    )


def dpa_acceptance_get(*, organization: Organization, acceptance_id: int) -> DpaAcceptance | None:
    return (
        DpaAcceptance.objects.for_organization(organization)
        .select_related("version", "user")
        .filter(pk=acceptance_id)
        .first()
    )


def objections(*, organization: Organization) -> list[DocumentObjection]:
    return list(
        DocumentObjection.objects.for_organization(organization)
        .select_related("version", "user")
        .order_by("-created_at")
    )


def notice_versions(*, now: datetime) -> list[DocumentVersion]:
    """Published versions whose notice banner is up: from publishing until 30 days in effect."""
    oldest = utc_today(now) - timedelta(days=BANNER_DAYS_AFTER_EFFECTIVE)
    return list(
        DocumentVersion.objects.filter(
            published_at__isnull=False, effective_on__gte=oldest
        ).order_by("effective_on", "pk")
    )


def scheduled_windows() -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(status=MaintenanceWindow.Status.SCHEDULED)


def maintenance_banner_windows(*, now: datetime) -> list[MaintenanceWindow]:
    """Windows announced in the portal: from 7 days before they start until they end."""
    return list(
        scheduled_windows()
        .filter(starts_at__lte=now + MAINTENANCE_NOTICE, ends_at__gt=now)
        .order_by("starts_at")
    )


def maintenance_ahead(*, now: datetime) -> list[MaintenanceWindow]:
    return list(scheduled_windows().filter(ends_at__gt=now).order_by("starts_at"))


def maintenance_past(*, now: datetime, days: int = 90) -> list[MaintenanceWindow]:
    return list(
        scheduled_windows()
        .filter(ends_at__lte=now, ends_at__gt=now - timedelta(days=days))
        .order_by("-starts_at")
    )


def planned_windows_in(lower: datetime, upper: datetime) -> list[MaintenanceWindow]:
    return list(
        scheduled_windows().filter(
            kind=MaintenanceKind.PLANNED, starts_at__lt=upper, ends_at__gt=lower
        )
    )


def day_range(first: date, days: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(days)]
