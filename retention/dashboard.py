"""The retention panel of the organization admin's dashboard (k12cloud.dashboard).

Whether de-identification is paused by legal holds, how many categories the organization keeps
for less than the policy, and when the next de-identification runs: the daily sweep for rows
due by age (retention.aging), or the date a terminated organization's data is de-identified.
Two queries (the active holds, the organization's own periods) whatever the number of rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization
from accounts.permissions import Permission, role_allows
from k12cloud.celery import app as celery_app
from k12cloud.dashboard import DashboardPanel
from retention.models import LegalHold, RetentionRule
from retention.policy import POLICY
from retention.termination import deidentification_due_on

SWEEP_ENTRY = "retention-sweep"  # the beat entry that runs retention.tasks.sweep


def next_sweep_at(now: datetime | None = None) -> datetime | None:
    """The next time the daily retention sweep starts (UTC), from the beat schedule."""
    entry = celery_app.conf.beat_schedule.get(SWEEP_ENTRY)
    schedule = entry.get("schedule") if entry else None
    hours, minutes = getattr(schedule, "hour", None), getattr(schedule, "minute", None)
    if not hours or not minutes:
        return None
    now = (now or timezone.now()).astimezone(UTC)
    for days in (0, 1):
        day = (now + timedelta(days=days)).date()
        for hour in sorted(hours):
            for minute in sorted(minutes):
                at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                if at > now:
                    return at
    return None


def retention_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    if not role_allows(membership.role, Permission.RETENTION_MANAGE):
        return None
    today = timezone.localdate()
    holds = (
        LegalHold.objects.for_organization(organization)
        .filter(released_at__isnull=True, ends_on__gte=today)
        .aggregate(
            active=Count("pk"),
            organization_wide=Count("pk", filter=Q(scope=LegalHold.Scope.ORGANIZATION)),
        )
    )
    rules = RetentionRule.objects.for_organization(organization).values_list("category", "days")
    shortened = sum(
        1 for category, days in rules if category in POLICY and days < POLICY[category].days
    )
    return DashboardPanel(
        key="retention",
        title=_("Retention"),
        template="retention/dashboard_panel.html",
        context={
            "holds_active": holds["active"],
            "held_entirely": holds["organization_wide"] > 0,
            "shortened": shortened,
            "terminated_due_on": deidentification_due_on(organization),
            "next_sweep_at": next_sweep_at(),
            "url": reverse("accounts:retention", kwargs={"org_slug": organization.slug}),
        },
        order=25,
    )
