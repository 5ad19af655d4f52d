"""Reads of deadline tracking. Every selector takes the organization and runs one query.

Tracking never decrypts a requester's data: the rows are loaded with `.only()` the fields a
reminder needs (reference, type, dates, assignee), which also keeps the titles free of it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from accounts.models import Membership
from accounts.permissions import Role
from privacy_requests.deadlines.calendars import CalendarSpec
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import CONTRACT_RULE_PREFIX, JurisdictionRule
from privacy_requests.rules.selectors import organization_calendar
from privacy_requests.status import Status

if TYPE_CHECKING:
    from accounts.models import Organization

# Members who hear about deadlines: the digest goes to each of them; escalations go to the
# officers and admins; reminders to the assignee (or the officers when nobody is assigned).
PRIVACY_ROLES = frozenset({Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF})

# The fields tracking reads of a request (no personal data: nothing is decrypted).
_TRACKED_FIELDS = (
    "id",
    "organization",
    "reference",
    "request_type",
    "status",
    "acknowledge_by",
    "acknowledged_at",
    "respond_by",
    "extended_respond_by",
    "extended_at",
    "next_due_on",
    "deadlines",
    "assignee",
    "closed_at",
)


def open_requests_due_by(*, organization: Organization, last_day: date) -> list[PrivacyRequest]:
    """Open requests whose earliest open deadline (`next_due_on`) is on or before `last_day`,
    overdue ones included, earliest first. One query, served by the queue index
    (organization, next_due_on, id WHERE closed_at IS NULL)."""
    return list(
        PrivacyRequest.objects.for_organization(organization)
        .filter(closed_at__isnull=True, next_due_on__lte=last_day)
        .only(*_TRACKED_FIELDS)
        .order_by("next_due_on", "id")
    )


def privacy_memberships(*, organization: Organization) -> list[Membership]:
    """Active memberships of active users in PRIVACY_ROLES, with their users (one query)."""
    return list(
        Membership.objects.for_organization(organization)
        .filter(is_active=True, user__is_active=True, role__in=[r.value for r in PRIVACY_ROLES])
        .select_related("user")
        .order_by("user_id")
    )


def rule_calendars(rule_ids: set[str]) -> dict[str, CalendarSpec]:
    """The business-day calendar of each jurisdiction rule id (one query; rule-level fields
    are equal on all of a rule's rows). Contract rule ids are not in the table."""
    wanted = sorted(r for r in rule_ids if r and not r.startswith(CONTRACT_RULE_PREFIX))
    if not wanted:
        return {}
    rows = (
        JurisdictionRule.objects.filter(rule_id__in=wanted)
        .order_by("rule_id", "pk")
        .values_list("rule_id", "calendar_country", "calendar_subdivision")
    )
    calendars: dict[str, CalendarSpec] = {}
    for rule_id, country, subdivision in rows:
        calendars.setdefault(rule_id, CalendarSpec(country or None, subdivision or None))
    return calendars


def request_calendar(
    request: PrivacyRequest, *, calendars: dict[str, CalendarSpec], organization: Organization
) -> CalendarSpec:
    """The calendar of the rule that binds the request (its deadline snapshot names it); a
    contract rule, or a rule no longer in the table, counts with the organization's calendar
    (as the engine does for contract rules)."""
    binding = (request.deadlines or {}).get("binding_rule", "")
    return calendars.get(binding) or organization_calendar(organization)


def response_due_on(request: PrivacyRequest) -> date | None:
    """The response date in force: the extended one once an extension was granted."""
    return request.extended_respond_by if request.extended_at else request.respond_by


# --- requests whose email was never confirmed ------------------------------------------------

UNCONFIRMED_STATUSES = (Status.RECEIVED, Status.AWAITING_VERIFICATION)


def unconfirmed_web_requests(
    *, organization: Organization, received_before: datetime
) -> list[PrivacyRequest]:
    """Open web requests received before `received_before` whose requester has not confirmed
    their email, oldest first (one query; the organization's status index narrows it). The
    sweep decides per row whether the reminder or the closure is due."""
    return list(
        PrivacyRequest.objects.for_organization(organization)
        .filter(
            channel=PrivacyRequest.Channel.WEB,
            email_confirmed_at__isnull=True,
            status__in=[s.value for s in UNCONFIRMED_STATUSES],
            closed_at__isnull=True,
            received_at__lte=received_before,
        )
        .only("id", "organization", "received_at", "confirmation_reminder_sent_at")
        .order_by("received_at", "id")
    )
