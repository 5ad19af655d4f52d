"""Reminders as each open leg's deadline approaches, escalation when it passes.

Run by the beat every 15 minutes (`incidents.tasks.sweep`), one task per organization. Each
reminder stage and the escalation are sent once per leg: the notification's dedupe key names
the leg, its due time and the stage, so a sweep that runs twice (or after a recomputation
that did not move the due time) sends nothing new, and a moved due time reminds again.

Stages: legs counted in hours (GDPR's 72, Texas DIR's 48) are reminded 24 and 6 hours before;
legs in days 7 days, 2 days and 1 day before. Members with the digest get reminders in it;
escalations are urgent (emailed to everyone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from accounts.permissions import Role
from audit.actions import Action
from audit.services import record
from incidents.deadlines import LegStatus, LegUnit, zone_for
from incidents.models import IncidentLeg
from incidents.services import incident_url
from k12cloud.notifications.services import notify

HOUR_STAGES = (timedelta(hours=24), timedelta(hours=6))
DAY_STAGES = (timedelta(days=7), timedelta(days=2), timedelta(days=1))


@dataclass
class SweepResult:
    reminded: int = 0
    escalated: int = 0


def _stage(leg: IncidentLeg, now: datetime) -> timedelta | None:
    """The nearest stage the leg has entered (the smallest lead time not yet passed)."""
    assert leg.due_at is not None
    left = leg.due_at - now
    stages = HOUR_STAGES if leg.unit == LegUnit.HOURS else DAY_STAGES
    entered = [stage for stage in stages if left <= stage]
    return min(entered) if entered else None


def incident_legs_sweep(*, organization: Organization, now: datetime | None = None) -> SweepResult:
    """Remind and escalate the organization's open legs. Call in its tenant context."""
    now = now or timezone.now()
    result = SweepResult()
    legs = list(
        IncidentLeg.objects.for_organization(organization)
        .filter(met_at__isnull=True, status=LegStatus.DUE, due_at__isnull=False)
        .select_related("incident")
        .order_by("due_at", "pk")
    )
    if not legs:
        return result
    people = [
        m.user
        for m in Membership.objects.for_organization(organization)
        .filter(
            is_active=True, user__is_active=True, role__in=[Role.ORG_ADMIN, Role.PRIVACY_OFFICER]
        )
        .select_related("user")
        .order_by("user_id")
    ]
    if not people:
        return result
    zone = zone_for(organization.time_zone)
    for leg in legs:
        assert leg.due_at is not None
        stamp = leg.due_at.isoformat()
        url = incident_url(organization, leg.incident)
        link = settings.PORTAL_BASE_URL.rstrip("/") + url
        names = {
            "reference": leg.incident.reference,
            "leg": f"{leg.regime} {leg.leg}",
            "recipient": leg.recipient_label,
            "due": leg.due_at.astimezone(zone).isoformat(timespec="minutes"),
        }
        with transaction.atomic():
            if leg.due_at <= now:
                title = (
                    _(
                        "%(reference)s: the notice to %(recipient)s (%(leg)s) was due "
                        "%(due)s and is not recorded as sent"
                    )
                    % names
                )
                sent = notify(
                    organization=organization,
                    recipients=people,
                    kind="incident_leg_overdue",
                    title=title,
                    email_context={"title": title, "link": link},
                    url=url,
                    target=leg.incident,
                    email_template="incidents/email/alert",
                    dedupe_key=f"incident-leg-overdue:{leg.pk}:{stamp}",
                    urgent=True,
                )
                if sent:
                    record(
                        Action.INCIDENT_LEG_ESCALATED,
                        organization=organization,
                        target=leg.incident,
                        changes={"leg": f"{leg.regime}/{leg.leg}", "due_at": stamp},
                    )
                    result.escalated += 1
                continue
            stage = _stage(leg, now)
            if stage is None:
                continue
            title = _("%(reference)s: the notice to %(recipient)s (%(leg)s) is due %(due)s") % names
            sent = notify(
                organization=organization,
                recipients=people,
                kind="incident_leg_due_soon",
                title=title,
                email_context={"title": title, "link": link},
                url=url,
                target=leg.incident,
                email_template="incidents/email/alert",
                dedupe_key=f"incident-leg-due:{leg.pk}:{stamp}:{int(stage.total_seconds())}",
            )
            if sent:
                result.reminded += 1
    return result
