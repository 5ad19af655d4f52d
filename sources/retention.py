"""Keeping SIS data only as long as the retention rules say (category `sis_records`).

An import's rows are a working copy of the district's SIS for answering requests. They are
deleted when the import is older than the organization's period for the category (its
RetentionRule, else the policy's: retention.policy), or as soon as a newer import of the same
source replaces them (sources.importing). The `SourceImport` row stays as history (file name,
checksum, counts: no personal data). A legal hold on the organization or on the category
keeps everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from audit.actions import Action
from audit.context import Actor
from audit.services import record as audit_record
from retention.models import LegalHold
from retention.policy import Category
from retention.selectors import legal_holds_active, schedule_list
from sources.importing import import_rows_delete
from sources.models import SourceImport

SYSTEM_ACTOR = Actor.system("SIS retention")


def sis_imports_expire(*, organization: Organization, now: datetime | None = None) -> int:
    """Delete the rows of imports older than the period; returns how many imports expired.

    Idempotent: an expired import is marked EXPIRED and never found again."""
    now = now or timezone.now()
    holds = legal_holds_active(organization=organization, today=now.date())
    if any(
        h.scope == LegalHold.Scope.ORGANIZATION
        or (h.scope == LegalHold.Scope.CATEGORY and h.category == Category.SIS_RECORDS)
        for h in holds
    ):
        return 0
    days = next(
        s.days
        for s in schedule_list(organization=organization)
        if s.policy.category == Category.SIS_RECORDS
    )
    cutoff = now - timedelta(days=days)
    with transaction.atomic():
        due = list(
            SourceImport.objects.for_organization(organization)
            .filter(
                status__in=[SourceImport.Status.SUCCEEDED, SourceImport.Status.REPLACED],
                started_at__lt=cutoff,
            )
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        deleted = import_rows_delete(organization_id=organization.pk, import_ids=due)
        SourceImport.objects.filter(pk__in=due).update(status=SourceImport.Status.EXPIRED)
        audit_record(
            Action.SIS_IMPORTS_EXPIRED,
            organization=organization,
            changes={"imports": due, "rows_deleted": deleted, "period_days": days},
            actor=SYSTEM_ACTOR,
        )
    return len(due)
