"""The requests panel of the organization dashboard (k12cloud.dashboard), by role.

- privacy officers and staff: the open requests' figures (by status, due this week, overdue,
  unassigned, unverified, assigned to me), their own assigned requests (a bounded list) and
  the latest replies from requesters, as privacy_requests.visibility lets the role read them;
- organization admins: the figures only, as a summary beside the organization's posture;
- viewers: the figures and the next deadlines (references, types, statuses, dates: the
  register group only, never a person).

Each figure links to the triage queue filtered to exactly the requests it counts. Queries are
constant in the number of requests: one aggregate for every figure, one bounded list, and for
the replies one bounded list plus the organization's data keys (read once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization
from accounts.permissions import Permission, Role, role_allows
from k12cloud.dashboard import DashboardPanel
from k12cloud.encryption.keys import data_keys_preloaded
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.queue.selectors import (
    STATUS_OPEN,
    UNASSIGNED,
    DueBadge,
    due_badge,
    due_this_week_range,
    organization_today,
)
from privacy_requests.rules.selectors import organization_calendar
from privacy_requests.status import OPEN_STATUSES, Status
from privacy_requests.visibility import PRIVACY_REQUEST_FIELDS, RequestAccess, request_access

LIST_SIZE = 8  # the assigned-to-me and next-deadline lists
REPLIES_SHOWN = 5
EXCERPT_CHARACTERS = 140
WORKERS = frozenset({Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF})
# the columns the lists show (the register group): nothing personal is even loaded
LIST_COLUMNS = ("id", "organization_id", "reference", "request_type", "status", "next_due_on")


@dataclass(frozen=True)
class Figure:
    """A count and the queue link that lists exactly what it counts."""

    key: str
    label: Any
    count: int
    url: str


@dataclass(frozen=True)
class ListedRequest:
    id: int
    reference: str
    type_label: str
    status_label: str
    badge: DueBadge


@dataclass(frozen=True)
class Reply:
    request_id: int
    reference: str
    received_at: Any
    requester_name: str | None  # None: the role does not read contact details
    excerpt: str | None  # None: the role does not read messages


def queue_link(organization: Organization, **filters: object) -> str:
    url = reverse("accounts:request_queue", kwargs={"org_slug": organization.slug})
    query = {name: value for name, value in filters.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def request_figures(
    *, organization: Organization, today: date, user_id: int | None
) -> dict[str, int]:
    """Every figure of the panel over the open requests, in one aggregate query."""
    week = due_this_week_range(today)
    counts: dict[str, Any] = {
        "open": Count("pk"),
        "overdue": Count("pk", filter=Q(next_due_on__lt=today)),
        "due_this_week": Count("pk", filter=Q(next_due_on__range=week)),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True)),
        "unverified": Count("pk", filter=Q(verified_at__isnull=True)),
        **{f"status:{s.value}": Count("pk", filter=Q(status=s.value)) for s in _open_statuses()},
    }
    if user_id is not None:
        counts["mine"] = Count("pk", filter=Q(assignee_id=user_id))
    return (
        PrivacyRequest.objects.for_organization(organization)
        .filter(closed_at__isnull=True)
        .aggregate(**counts)
    )


def _open_statuses() -> list[Status]:
    return [s for s in Status if s in OPEN_STATUSES]


def _due_first(rows: QuerySet[PrivacyRequest]) -> QuerySet[PrivacyRequest]:
    return rows.only(*LIST_COLUMNS).order_by(F("next_due_on").asc(nulls_last=True), "id")


def listed_requests(
    *, organization: Organization, today: date, assignee_id: int | None = None
) -> list[ListedRequest]:
    """The open requests due first (only the assignee's, when given): a bounded list, one
    query, register fields only."""
    rows = PrivacyRequest.objects.for_organization(organization).filter(closed_at__isnull=True)
    if assignee_id is not None:
        rows = rows.filter(assignee_id=assignee_id)
    calendar = organization_calendar(organization)
    return [
        ListedRequest(
            r.pk,
            r.reference,
            r.get_request_type_display(),
            r.get_status_display(),
            due_badge(r.next_due_on, today=today, calendar=calendar),
        )
        for r in _due_first(rows)[:LIST_SIZE]
    ]


def recent_replies(*, organization: Organization, access: RequestAccess) -> list[Reply]:
    """The latest messages requesters sent, newest first (bounded): the body's start and the
    requester's name only where the role reads them (privacy_requests.visibility). Two
    queries: the messages with their requests, and the organization's data keys."""
    names = access.reads(PRIVACY_REQUEST_FIELDS["requester_name"])
    bodies = access.message_body_shown(RequestMessage.Direction.FROM_REQUESTER)
    rows = (
        RequestMessage.objects.for_organization(organization)
        .filter(direction=RequestMessage.Direction.FROM_REQUESTER)
        .select_related("request")
        .only(
            "id",
            "organization_id",
            "created_at",
            "direction",
            "request__id",
            "request__organization_id",
            "request__reference",
            *(["body"] if bodies else []),
            *(["request__requester_name"] if names else []),
        )
        .order_by("-created_at", "-pk")[:REPLIES_SHOWN]
    )
    replies = []
    with data_keys_preloaded(organization.pk):
        for message in rows:
            excerpt = None
            if bodies:
                text = " ".join(str(message.body).split())
                cut = len(text) > EXCERPT_CHARACTERS
                excerpt = text[:EXCERPT_CHARACTERS].rstrip() + ("…" if cut else "")
            replies.append(
                Reply(
                    message.request.pk,
                    message.request.reference,
                    message.created_at,
                    message.request.requester_name if names else None,
                    excerpt,
                )
            )
    return replies


def requests_panel(*, organization: Organization, membership: Membership) -> DashboardPanel | None:
    role = Role(membership.role)
    if not role_allows(role, Permission.REQUESTS_VIEW):
        return None
    today = organization_today(organization)
    works = role in WORKERS
    user_id = membership.user_id if role_allows(role, Permission.REQUESTS_WORK) else None
    counts = request_figures(organization=organization, today=today, user_id=user_id)

    def figure(key: str, label: Any, **filters: object) -> Figure:
        return Figure(key, label, counts[key], queue_link(organization, **filters))

    figures = [
        figure("open", _("Open"), status=STATUS_OPEN),
        figure("due_this_week", _("Due this week"), due_this_week="on"),
        figure("overdue", _("Overdue"), overdue="on"),
        figure("unassigned", _("Unassigned"), assignee=UNASSIGNED),
        figure("unverified", _("Identity not verified"), unverified="on"),
    ]
    if user_id is not None:
        figures.append(figure("mine", _("Assigned to me"), assignee=user_id))
    by_status = [figure(f"status:{s.value}", s.label, status=s.value) for s in _open_statuses()]
    context: dict[str, Any] = {
        "figures": figures,
        "by_status": by_status,
        "queue_url": queue_link(organization),
        "week": due_this_week_range(today),
    }
    if works:
        context["mine"] = listed_requests(
            organization=organization, today=today, assignee_id=membership.user_id
        )
        context["mine_url"] = queue_link(organization, assignee=membership.user_id)
        context["replies"] = recent_replies(organization=organization, access=request_access(role))
    elif role == Role.VIEWER:
        context["next_due"] = listed_requests(organization=organization, today=today)
    return DashboardPanel(
        key="requests",
        title=_("Privacy requests") if works or role == Role.VIEWER else _("Open requests"),
        template="privacy_requests/dashboard_panel.html",
        context=context,
        order=10 if works or role == Role.VIEWER else 22,
    )
