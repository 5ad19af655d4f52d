"""Reads of privacy requests for the request page and the services.

Every selector takes the organization; a request of another organization is "does not exist"
(`PrivacyRequest.DoesNotExist`, a 404 in the views).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

from privacy_requests.deadlines import DeadlineSnapshot
from privacy_requests.deadlines.calendars import business_days_between
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage
from privacy_requests.rules.models import CONTRACT_RULE_PREFIX, ContractRule, JurisdictionRule
from privacy_requests.rules.names import rule_name, rule_summary
from privacy_requests.rules.selectors import (
    RuleBook,
    deadline_rule_from_rows,
    organization_calendar,
)

if TYPE_CHECKING:
    from accounts.models import Membership, Organization


def request_today(*, organization: Organization) -> date:
    """Today's date in the organization's time zone (deadlines are local dates)."""
    return timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()


def request_get(*, organization: Organization, request_id: int) -> PrivacyRequest:
    """One request with its assignee; raises PrivacyRequest.DoesNotExist."""
    return (
        PrivacyRequest.objects.for_organization(organization)
        .select_related(
            "assignee", "duplicate_of", "routed_to_organization", "routed_from_organization"
        )
        .get(pk=request_id)
    )


def request_get_by_reference(*, organization: Organization, reference: str) -> PrivacyRequest:
    return PrivacyRequest.objects.for_organization(organization).get(
        reference=reference.strip().upper()
    )


def request_timeline(*, organization: Organization, request: PrivacyRequest) -> list[RequestEvent]:
    """The request's events, oldest first, with their actors (one query)."""
    return list(
        RequestEvent.objects.for_organization(organization)
        .filter(request=request)
        .select_related("actor")
        .order_by("occurred_at", "pk")
    )


def request_messages(
    *, organization: Organization, request: PrivacyRequest
) -> list[RequestMessage]:
    """Messages and internal notes, oldest first, with their authors (one query)."""
    return list(
        RequestMessage.objects.for_organization(organization)
        .filter(request=request)
        .select_related("author")
        .order_by("created_at", "pk")
    )


def _binding_rule_rows(
    request: PrivacyRequest, book: RuleBook | None = None
) -> list[JurisdictionRule]:
    """The rows of the binding rule: from `book` when the caller has it (read in this
    transaction), else one query."""
    rule_id = request.deadlines.get("binding_rule", "")
    if not rule_id or rule_id.startswith(CONTRACT_RULE_PREFIX):
        return []
    if book is not None:
        return list(book.rows.get(rule_id, ()))
    return list(JurisdictionRule.objects.filter(rule_id=rule_id).order_by("pk"))


def request_pausing_allowed(*, request: PrivacyRequest) -> bool:
    """Whether the binding rule allows stopping the clock (putting the request on hold).

    The deadline snapshot keeps only the binding rule's id, so the rules table's
    `pausing_allowed` for that rule id is read here (rule-level: equal on all its rows).
    Contract rules never allow pausing.
    """
    return any(row.pausing_allowed for row in _binding_rule_rows(request))


@dataclass(frozen=True)
class DeadlineSummary:
    binding_rule: str
    # its plain name and period ("California Consumer Privacy Act — 45 days, one 45-day
    # extension"), for people; `binding_rule` is the code
    binding_rule_label: str
    jurisdiction: str
    source: str
    pausing_allowed: bool
    acknowledge_by: date | None
    respond_by: date | None
    respond_by_extended: date | None  # what an extension would give (None: not allowed)
    extended_respond_by: date | None  # granted
    due_on: date | None  # the response date in force
    business_days_left: int | None  # negative when overdue
    today: date

    @property
    def overdue_by(self) -> int:
        """Business days past the response date (0 when not overdue)."""
        left = self.business_days_left
        return -left if left is not None and left < 0 else 0


def _binding_rule_label(
    organization: Organization,
    request: PrivacyRequest,
    rule_id: str,
    rows: list[JurisdictionRule],
) -> str:
    if not rule_id:
        return ""
    if rows:
        return rule_summary(deadline_rule_from_rows(rows), request.request_type)
    if rule_id.startswith(CONTRACT_RULE_PREFIX):
        slug = rule_id.removeprefix(CONTRACT_RULE_PREFIX)
        name = (
            ContractRule.objects.for_organization(organization)
            .filter(slug=slug)
            .values_list("name", flat=True)
            .first()
        )
        return rule_name(rule_id, {rule_id: name} if name else None)
    return rule_name(rule_id)


def request_deadline_summary(
    *, organization: Organization, request: PrivacyRequest, book: RuleBook | None = None
) -> DeadlineSummary:
    """The deadlines of the request page, with the binding rule and business days left.
    `book`: the rule book as read in this transaction (`organization_rules()`), if at hand."""
    rows = _binding_rule_rows(request, book)
    snapshot = DeadlineSnapshot.from_json_dict(request.deadlines) if request.deadlines else None
    row = next((r for r in rows if request.request_type in r.request_types), None)
    due_on = request.extended_respond_by if request.extended_at else request.respond_by
    today = request_today(organization=organization)
    left = None
    if due_on is not None and request.closed_at is None:
        left = business_days_between(today, due_on, organization_calendar(organization))
    binding_rule = snapshot.binding_rule if snapshot else ""
    return DeadlineSummary(
        binding_rule=binding_rule,
        binding_rule_label=_binding_rule_label(organization, request, binding_rule, rows),
        jurisdiction=row.jurisdiction if row else "",
        source=row.source if row else "",
        pausing_allowed=any(r.pausing_allowed for r in rows),
        acknowledge_by=request.acknowledge_by,
        respond_by=request.respond_by,
        respond_by_extended=snapshot.respond_by_extended if snapshot else None,
        extended_respond_by=request.extended_respond_by,
        due_on=due_on,
        business_days_left=left,
        today=today,
    )


def request_assignable_members(*, organization: Organization) -> list[Membership]:
    """Active members whose role may work on requests, for the assign form (one query)."""
    from accounts.models import Membership
    from accounts.permissions import PERMISSION_MATRIX, Permission

    roles = [r.value for r in PERMISSION_MATRIX[Permission.REQUESTS_WORK]]
    return list(
        Membership.objects.for_organization(organization)
        .filter(is_active=True, role__in=roles)
        .select_related("user")
        .order_by("user__email")
    )
