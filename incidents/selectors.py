"""Reads of incidents: the register, one incident's legs, the vendor's view of its cascade."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from incidents.deadlines import LegStatus, LegUnit, zone_for
from incidents.models import (
    Incident,
    IncidentCascade,
    IncidentLeg,
    LawEnforcementDelay,
    Notice,
    NoticeDelivery,
    RecipientList,
)
from k12cloud.notifications.models import OutboundEmail
from privacy_requests.deadlines.calendars import CalendarSpec, business_days_between

OPEN_STATUSES = (LegStatus.DUE, LegStatus.NO_NUMERIC_DEADLINE, LegStatus.SUSPENDED)


def incident_register(*, organization: Organization) -> QuerySet[Incident]:
    """Every incident, breach or not, with its count of open legs and the next due time."""
    open_legs = Q(legs__met_at__isnull=True, legs__status__in=OPEN_STATUSES)
    return Incident.objects.for_organization(organization).annotate(
        open_legs=Count("legs", filter=open_legs),
        next_due=Min("legs__due_at", filter=open_legs),
    )


def incident_get(*, organization: Organization, incident_id: int) -> Incident:
    return Incident.objects.for_organization(organization).get(pk=incident_id)


def incident_legs(*, organization: Organization, incident: Incident) -> list[IncidentLeg]:
    return list(
        IncidentLeg.objects.for_organization(organization)
        .filter(incident=incident)
        .order_by("due_at", "regime", "leg", "part")
    )


def incident_delays(*, organization: Organization, incident: Incident) -> list[LawEnforcementDelay]:
    return list(
        LawEnforcementDelay.objects.for_organization(organization).filter(incident=incident)
    )


def incident_cascades(*, organization: Organization, incident: Incident) -> list[IncidentCascade]:
    return list(IncidentCascade.objects.for_organization(organization).filter(incident=incident))


def incident_recipient_lists(
    *, organization: Organization, incident: Incident
) -> list[RecipientList]:
    return list(RecipientList.objects.for_organization(organization).filter(incident=incident))


def incident_notices(*, organization: Organization, incident: Incident) -> list[Notice]:
    return list(
        Notice.objects.for_organization(organization)
        .filter(incident=incident)
        .select_related("leg")
        .defer("body_en", "body_es")
    )


def notice_get(*, organization: Organization, notice_id: int) -> Notice:
    return (
        Notice.objects.for_organization(organization)
        .select_related("leg", "incident")
        .get(pk=notice_id)
    )


@dataclass
class DeliveryCounts:
    queued: int
    sent: int
    pending: int
    failed: int


def notice_delivery_counts(*, organization: Organization, notice: Notice) -> DeliveryCounts:
    ids = (
        NoticeDelivery.objects.for_organization(organization)
        .filter(notice=notice)
        .values("email_id")
    )
    by_status = dict(
        OutboundEmail.objects.for_organization(organization)
        .filter(pk__in=ids)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    queued = NoticeDelivery.objects.for_organization(organization).filter(notice=notice).count()
    return DeliveryCounts(
        queued=queued,
        sent=by_status.get(OutboundEmail.Status.SENT, 0),
        pending=by_status.get(OutboundEmail.Status.PENDING, 0),
        failed=by_status.get(OutboundEmail.Status.FAILED, 0),
    )


def notice_bounces(
    *, organization: Organization, notice: Notice, limit: int = 200
) -> list[OutboundEmail]:
    """Emails of the notice the mail server refused (failed after their retries)."""
    ids = (
        NoticeDelivery.objects.for_organization(organization)
        .filter(notice=notice)
        .values("email_id")
    )
    return list(
        OutboundEmail.objects.for_organization(organization)
        .filter(pk__in=ids, status=OutboundEmail.Status.FAILED)
        .only("pk", "to", "last_error", "organization_id")
        .order_by("pk")[:limit]
    )


@dataclass
class Countdown:
    text_kind: str  # "hours", "business_days", "days", "overdue_hours", "overdue_days"
    amount: int


def leg_countdown(
    leg: IncidentLeg, organization: Organization, now: datetime | None = None
) -> Countdown | None:
    """Time left on an open leg: hours for hour-counted legs, else business days."""
    if leg.due_at is None or leg.met_at is not None:
        return None
    now = now or timezone.now()
    if leg.unit == LegUnit.HOURS:
        hours = int((leg.due_at - now).total_seconds() // 3600)
        return Countdown("hours" if hours >= 0 else "overdue_hours", abs(hours))
    zone = timezone.get_current_timezone() if False else None

    zone = zone_for(organization.time_zone)
    calendar = CalendarSpec(organization.country or None, organization.subdivision or None)
    days = business_days_between(
        now.astimezone(zone).date(), leg.due_at.astimezone(zone).date(), calendar
    )
    if leg.due_at < now:
        return Countdown("overdue_days", abs(days))
    return Countdown("business_days", days)


def open_legs_summary(*, organization: Organization) -> dict[str, object]:
    """For the dashboard: incidents with open legs and the next due time (one query)."""
    open_legs = IncidentLeg.objects.for_organization(organization).filter(
        met_at__isnull=True, status__in=OPEN_STATUSES
    )
    return open_legs.aggregate(
        incidents=Count("incident", distinct=True),
        legs=Count("pk"),
        next_due=Min("due_at"),
    )
