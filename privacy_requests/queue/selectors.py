"""Reads of the triage queue and the request register: filters, keyset pages, badges, export.

The queue is sorted by the earliest open deadline (`next_due_on`, then id; closed requests,
which have none, come last) and paged by keyset on (next_due_on, id), like the audit log:
each page is one indexed range read however deep it is, and nothing counts the requests.
Per page: one query for the rows (assignee joined), one for the organization's data keys
(the requester names decrypt in memory; none while the process cache holds the keys),
whatever the page size. What a row shows (labels,
badges, links) is worked out per page, not per row, where it can be: the page is rendered
for every visit to the queue.

Nothing here decrypts to filter: the requester email search compares the blind index.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import F, Field, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import Membership, Organization, User
from accounts.permissions import Permission, Role, role_allows
from k12cloud.encryption.envelope import blind_index
from k12cloud.encryption.keys import data_keys_preloaded
from k12cloud.tenancy import tenant_context
from privacy_requests.deadlines.calendars import CalendarSpec, business_days_between
from privacy_requests.labels import request_type_label, status_label
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.names import rule_label
from privacy_requests.rules.selectors import (
    jurisdiction_rule_book,
    organization_calendar,
    organization_contract_rules,
)
from privacy_requests.visibility import (
    PRIVACY_REQUEST_FIELDS,
    RedactedRequest,
    RequestAccess,
    request_access,
    visible_request,
)

PAGE_SIZE = 50
# what the queue page shows of a request (queue.html), read without the other sealed fields
QUEUE_COLUMNS = (
    "organization",  # whose key decrypts the name
    "reference",
    "request_type",
    "status",
    "requester_name",
    "next_due_on",
    "deadline_snapshot_stale_since",
    "closed_at",
    "assignee",
    "assignee__email",
    "assignee__full_name",
)
EXPORT_CHUNK_SIZE = 2000

# the status filter's groups, besides single statuses
STATUS_OPEN = "open"
STATUS_CLOSED = "closed"
STATUS_ALL = "all"
UNASSIGNED = "unassigned"
# "due this week": the next deadline falls from today to six days on (overdue ones excluded)
DUE_THIS_WEEK_DAYS = 7


def due_this_week_range(today: date) -> tuple[date, date]:
    """The first and last day (inclusive) a request is "due this week" on."""
    return today, today + timedelta(days=DUE_THIS_WEEK_DAYS - 1)


@dataclass(frozen=True)
class QueueFilter:
    """What to narrow the queue to. `status` is a group (open, closed, all) or one status."""

    status: str = STATUS_OPEN
    request_type: str = ""
    assignee_id: int | None = None
    unassigned: bool = False
    rule_id: str = ""
    due_within_days: int | None = None
    overdue: bool = False
    due_this_week: bool = False
    unverified: bool = False
    requester_email: str = ""

    def summary(self) -> dict[str, Any]:
        """The filters in use, for the export's audit event: never the email searched for."""
        values: dict[str, Any] = {
            "status": self.status,
            "request_type": self.request_type,
            "assignee_id": self.assignee_id,
            "unassigned": self.unassigned or None,
            "rule_id": self.rule_id,
            "due_within_days": self.due_within_days,
            "overdue": self.overdue or None,
            "due_this_week": self.due_this_week or None,
            "unverified": self.unverified or None,
            "requester_email": True if self.requester_email else None,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


def request_worker_choices(*, organization: Organization) -> list[tuple[str, str]]:
    """Active members whose role works requests (REQUESTS_WORK), as (user id, label: the full
    name, else the email), by email: the three columns, in one query."""
    roles = [role.value for role in Role if role_allows(role, Permission.REQUESTS_WORK)]
    rows = (
        Membership.objects.for_organization(organization)
        .filter(is_active=True, role__in=roles)
        .order_by("user__email")
        .values_list("user_id", "user__full_name", "user__email")
    )
    return [(str(user_id), name or email) for user_id, name, email in rows]


def organization_today(organization: Organization) -> date:
    """Today in the organization's time zone: deadlines are the organization's local dates."""
    return timezone.localdate(timezone=ZoneInfo(organization.time_zone))


def request_queue(
    *, organization: Organization, filters: QueueFilter | None = None, today: date | None = None
) -> QuerySet[PrivacyRequest]:
    """The organization's requests matching `filters`, earliest open deadline first, with the
    assignee in the same query."""
    filters = filters or QueueFilter()
    today = today or organization_today(organization)
    rows = PrivacyRequest.objects.filter(organization=organization)
    if filters.status == STATUS_OPEN:
        # closed_at, not status: the queue's partial index is "WHERE closed_at IS NULL"
        rows = rows.filter(closed_at__isnull=True)
    elif filters.status == STATUS_CLOSED:
        rows = rows.filter(closed_at__isnull=False)
    elif filters.status and filters.status != STATUS_ALL:
        rows = rows.filter(status=filters.status)
    if filters.request_type:
        rows = rows.filter(request_type=filters.request_type)
    if filters.unassigned:
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee_id is not None:
        rows = rows.filter(assignee_id=filters.assignee_id)
    if filters.rule_id:
        rows = rows.filter(deadlines__binding_rule=filters.rule_id)
    if filters.due_within_days is not None:
        rows = rows.filter(next_due_on__lte=today + timedelta(days=filters.due_within_days))
    if filters.overdue:
        rows = rows.filter(next_due_on__lt=today)
    if filters.due_this_week:
        rows = rows.filter(next_due_on__range=due_this_week_range(today))
    if filters.unverified:
        rows = rows.filter(verified_at__isnull=True)
    if filters.requester_email:
        index = blind_index(organization.pk, filters.requester_email, kind="email")
        rows = rows.filter(requester_email_index=index)
    return rows.select_related("assignee").order_by(F("next_due_on").asc(nulls_last=True), "id")


# --- keyset pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueCursor:
    """A position in the queue: the (next_due_on, id) of a request, opaque in URLs."""

    due_on: date | None
    id: int

    def encode(self) -> str:
        raw = f"{self.due_on.isoformat() if self.due_on else ''}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> QueueCursor | None:
        """The cursor a URL carries, or None when it is not one (tampered, truncated)."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            due, separator, identifier = raw.partition("|")
            if not separator:
                return None
            return cls(date.fromisoformat(due) if due else None, int(identifier))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    @classmethod
    def of(cls, request: PrivacyRequest) -> QueueCursor:
        return cls(request.next_due_on, request.pk)


def _after(cursor: QueueCursor) -> Q:
    """The rows after `cursor` among those of the cursor's kind (dated, or without a date).

    Each form is an index range on (organization, next_due_on, id): "next_due_on >= d" bounds
    the scan and the OR only sorts out the ties at d. Rows without a date come after every
    dated row; `request_queue_page` reads them separately, since one OR across both kinds
    would turn the range into a filter over every open request (seen: 80,000 rows for a
    deep page at 100,000 requests).
    """
    if cursor.due_on is None:  # among the requests without a deadline, by id
        return Q(next_due_on__isnull=True, id__gt=cursor.id)
    return Q(next_due_on__gte=cursor.due_on) & (
        Q(next_due_on__gt=cursor.due_on) | Q(id__gt=cursor.id)
    )


@dataclass
class QueuePage:
    requests: list[PrivacyRequest]
    next: QueueCursor | None = None  # the last row shown, when there is a page after it


def request_queue_page(
    *,
    organization: Organization,
    filters: QueueFilter | None = None,
    after: QueueCursor | None = None,
    size: int = PAGE_SIZE,
    today: date | None = None,
    columns: Sequence[str] = (),
) -> QueuePage:
    """One page of the queue, in one query (it reads one row more than it shows).

    The page where the dated rows run out takes a second query for the first rows without
    a date (see `_after`). With `columns`, only those are read (`QuerySet.only`): what the
    page shows, not the request's every sealed field.
    """
    rows = request_queue(organization=organization, filters=filters, today=today)
    if after is None:
        found = _first(rows, organization, size + 1, columns)
    else:
        found = _first(rows.filter(_after(after)), organization, size + 1, columns)
        if after.due_on is not None and len(found) <= size:
            undated = rows.filter(next_due_on__isnull=True)
            found += _first(undated, organization, size + 1 - len(found), columns)
    shown = found[:size]
    return QueuePage(shown, next=QueueCursor.of(shown[-1]) if len(found) > size else None)


def _first(
    rows: QuerySet[PrivacyRequest], organization: Organization, limit: int, columns: Sequence[str]
) -> list[PrivacyRequest]:
    """The first `limit` of `rows` (`request_queue`'s order), in one query: a subquery picks
    their ids, reading only the queue index's (organization, next_due_on, id) where it can (an
    index-only scan), and the rows are then read by id, with their assignees.

    `rows[:limit]` alone let the planner sort a small organization's whole queue: row-level
    security repeats the organization filter, and the planner, taking the two for
    independent, estimates an organization with 1 % of the table's rows to have 0.01 % of
    them, so few that reading them all and sorting looks cheaper than walking the index in
    order (25 ms at 10,000 requests beside 1,100,000 of other organizations, instead of
    1 ms). The subquery reads only indexed columns, so its ordered path stays the cheap one.

    The subquery is the ORM's (the filters); the outer query is fixed for a set of columns and
    written once (`_PageRead`): building and compiling it through the ORM (`only()` with
    `select_related`) cost more CPU than PostgreSQL took to run the whole page. The instances
    are made as the ORM makes them: `from_db` with the fields not read deferred, the fields'
    database converters applied, the assignee cached on its field.
    """
    inner_sql, inner_params = rows.values("id")[:limit].query.sql_with_params()
    read = _page_read(tuple(columns))
    with connection.cursor() as cursor:
        cursor.execute(read.sql.format(inner=inner_sql), [organization.pk, *inner_params])
        fetched = cursor.fetchall()
    return [read.instance(row) for row in fetched]


@dataclass(frozen=True)
class _PageRead:
    """The outer query of `_first` for one set of columns, and how to make its rows into
    instances."""

    sql: str  # "{inner}" stands for the subquery of ids
    request_names: tuple[str, ...]  # attnames, in the model's order (as from_db takes values)
    assignee_names: tuple[str, ...]  # empty: the assignee is not read (deferred)
    # (position in the row, the field's converters, its column) for fields that have any
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]

    def instance(self, fetched: tuple[Any, ...]) -> PrivacyRequest:
        row = list(fetched)
        for index, converters, column in self.converters:
            for converter in converters:
                row[index] = converter(row[index], column, connection)
        db = connection.alias
        split = len(self.request_names)
        request = PrivacyRequest.from_db(db, self.request_names, row[:split])
        if self.assignee_names:
            assignee = None
            if row[split] is not None:  # the assignee's id: NULL when unassigned
                assignee = User.from_db(db, self.assignee_names, row[split:])
            _ASSIGNEE.set_cached_value(request, assignee)
        return request


_ASSIGNEE = PrivacyRequest._meta.get_field("assignee")
_page_reads: dict[tuple[str, ...], _PageRead] = {}


def _page_read(columns: tuple[str, ...]) -> _PageRead:
    """`_first`'s outer query for `columns` (QUEUE_COLUMNS' form: the request's field names,
    "assignee" and "assignee__<field>"; none: every column of both), built once."""
    found = _page_reads.get(columns)
    if found is not None:
        return found
    own = {c for c in columns if "__" not in c}
    of_assignee = {c.split("__", 1)[1] for c in columns if c.startswith("assignee__")}
    request_fields = tuple(
        f
        for f in PrivacyRequest._meta.concrete_fields
        if not columns or f.primary_key or f.name in own
    )
    assignee_fields: tuple[Field, ...] = ()
    if not columns or "assignee" in own:
        assignee_fields = tuple(
            f
            for f in User._meta.concrete_fields
            if not columns or f.primary_key or f.name in of_assignee
        )
    quote = connection.ops.quote_name
    selected = [f"r.{quote(str(f.column))}" for f in request_fields]
    selected += [f"u.{quote(str(f.column))}" for f in assignee_fields]
    join = (
        f" LEFT OUTER JOIN {quote(User._meta.db_table)} u ON u.id = r.{quote(_ASSIGNEE.column)}"
        if assignee_fields
        else ""
    )
    # request_queue's order (next_due_on ascending, no date last, then id)
    sql = (
        f"SELECT {', '.join(selected)} FROM {quote(PrivacyRequest._meta.db_table)} r{join} "
        "WHERE r.organization_id = %s AND r.id IN ({inner}) "
        "ORDER BY r.next_due_on ASC NULLS LAST, r.id ASC"
    )
    # the values as the ORM hands them to from_db: each field's database converters applied
    # (sealed values, JSON)
    converters = []
    for index, field in enumerate((*request_fields, *assignee_fields)):
        column = field.cached_col
        found_converters = (
            *field.get_db_converters(connection),
            *connection.ops.get_db_converters(column),
        )
        if found_converters:
            converters.append((index, found_converters, column))
    found = _page_reads[columns] = _PageRead(
        sql,
        tuple(f.attname for f in request_fields),
        tuple(f.attname for f in assignee_fields),
        tuple(converters),
    )
    return found


# --- badges -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueBadge:
    """How close the next deadline is: business days left, or overdue by business days."""

    kind: str  # "none", "overdue", "today", "soon" (<= 2 business days), "later"
    days: int
    due_on: date | None


def due_badge(due_on: date | None, *, today: date, calendar: CalendarSpec) -> DueBadge:
    if due_on is None:
        return DueBadge("none", 0, None)
    if due_on < today:
        return DueBadge("overdue", max(1, business_days_between(due_on, today, calendar)), due_on)
    if due_on == today:
        return DueBadge("today", 0, due_on)
    left = business_days_between(today, due_on, calendar)
    return DueBadge("soon" if left <= 2 else "later", left, due_on)


def due_badge_text(badge: DueBadge) -> str:
    """The badge's words ("overdue by 3 business days", "due today", "2 business days
    left"); empty for a request without a deadline."""
    if badge.kind == "none":
        return ""
    if badge.kind == "overdue":
        return ngettext(
            "overdue by %(days)s business day", "overdue by %(days)s business days", badge.days
        ) % {"days": badge.days}
    if badge.kind == "today":
        return gettext("due today")
    return ngettext("%(days)s business day left", "%(days)s business days left", badge.days) % {
        "days": badge.days
    }


@dataclass
class QueueRow:
    """A request as the queue shows it, with what its line says worked out once per page."""

    request: RedactedRequest
    requester_name: str | None  # None: hidden for the role
    badge: DueBadge
    # the type's and status's labels, as get_request_type_display and get_status_display
    # give them (None when the role may not read the field)
    type_label: str | None = None
    status_label: str | None = None
    badge_text: str = ""  # due_badge_text(badge)
    due_on: str = ""  # the badge's date, ISO
    url: str = ""  # the request's page
    id: str = ""  # the request's id as text (not localized four times a row by the template)
    select_label: str = ""  # the tick box's label, "Select R-7KQ2-M9XD"


def _choice_labels(field_name: str) -> Callable[[str | None], str | None]:
    """`get_<field>_display` for many rows: the choices' labels resolved once (in the active
    language) instead of once per row; a value that is not a choice reads as itself."""
    field = PrivacyRequest._meta.get_field(field_name)
    assert isinstance(field, Field)
    choices = {str(value): str(label) for value, label in field.flatchoices}

    def label(value: str | None) -> str | None:
        return None if value is None else choices.get(value, value)

    return label


def queue_rows(
    *,
    organization: Organization,
    requests: Iterable[PrivacyRequest],
    today: date,
    access: RequestAccess,
) -> list[QueueRow]:
    """The rows as the queue shows them, as the role may read them (privacy_requests.
    visibility): names decrypted with the keys read once (one query, even for no rows; none
    for a role that does not read names, or while the process cache holds the keys), badges
    from the calendar loaded once (no query), each distinct deadline's badge computed once per
    page (the queue is sorted by deadline, so a page has few), and the labels of types and
    statuses resolved once per page."""
    calendar = organization_calendar(organization)
    names = access.reads(PRIVACY_REQUEST_FIELDS["requester_name"])
    type_label = _choice_labels("request_type")
    status_label = _choice_labels("status")
    select_label = gettext("Select %(reference)s")
    # /o/<slug>/requests/<id>/, reversed once: only the id differs from row to row
    marker = 2**62
    url = reverse(
        "accounts:request_detail", kwargs={"org_slug": organization.slug, "request_id": marker}
    )
    url_head, url_tail = url.split(str(marker))
    badges: dict[date | None, tuple[DueBadge, str]] = {}

    def badge(due_on: date | None) -> tuple[DueBadge, str]:
        found = badges.get(due_on)
        if found is None:
            computed = due_badge(due_on, today=today, calendar=calendar)
            found = badges[due_on] = (computed, due_badge_text(computed))
        return found

    rows = []
    with data_keys_preloaded(organization.pk) if names else nullcontext():
        for r in requests:
            shown = visible_request(r, access)
            due, text = badge(r.next_due_on)
            rows.append(
                QueueRow(
                    shown,
                    r.requester_name if names else None,
                    due,
                    type_label=type_label(shown.request_type),
                    status_label=status_label(shown.status),
                    badge_text=text,
                    due_on=due.due_on.isoformat() if due.due_on else "",
                    url=f"{url_head}{r.pk}{url_tail}",
                    id=str(r.pk),
                    select_label=select_label % {"reference": r.reference},
                )
            )
    return rows


# --- the request register (CSV export) --------------------------------------------------------

REGISTER_COLUMNS = (
    "reference",
    "request_type",
    "channel",
    "received_at",
    "acknowledge_by",
    "respond_by",
    "extended_respond_by",
    "next_due_on",
    "binding_rule",
    "status",
    "acknowledged_at",
    "verified_at",
    "verification_method",
    "assignee_email",
    "outcome",
    "closed_at",
)
# personal data of the requester (the contact group of privacy_requests.visibility)
PERSONAL_COLUMNS = ("requester_name", "requester_email", "relationship")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def register_includes_personal_data(membership: Membership) -> bool:
    """Roles that read requesters' contact details (privacy staff, privacy officers, org
    admins) get the requester's name and email in the register; viewers get it without."""
    access = request_access(membership.role)
    return all(access.reads(PRIVACY_REQUEST_FIELDS[c]) for c in PERSONAL_COLUMNS)


def register_columns(*, personal: bool) -> tuple[str, ...]:
    return REGISTER_COLUMNS + PERSONAL_COLUMNS if personal else REGISTER_COLUMNS


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: no formula injection (OWASP's leading quote)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def register_record(
    request: PrivacyRequest,
    *,
    personal: bool,
    rule_label: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """One row of the register, as people read it: request types, statuses, channels and
    outcomes by their labels, and the binding rule by its name and period (`rule_label(rule
    id, request type)`; the bare id without one)."""
    binding_rule = (request.deadlines or {}).get("binding_rule", "")
    record: dict[str, Any] = {
        "reference": request.reference,
        "request_type": request_type_label(request.request_type),
        "channel": request.get_channel_display(),
        "received_at": request.received_at,
        "acknowledge_by": request.acknowledge_by,
        "respond_by": request.respond_by,
        "extended_respond_by": request.extended_respond_by,
        "next_due_on": request.next_due_on,
        "binding_rule": (
            rule_label(binding_rule, request.request_type) if rule_label else binding_rule
        ),
        "status": status_label(request.status),
        "acknowledged_at": request.acknowledged_at,
        "verified_at": request.verified_at,
        "verification_method": request.get_verification_method_display(),
        "assignee_email": request.assignee.email if request.assignee else "",
        "outcome": request.get_outcome_display(),
        "closed_at": request.closed_at,
    }
    if personal:
        record["requester_name"] = request.requester_name
        record["requester_email"] = request.requester_email
        record["relationship"] = request.get_relationship_display()
    return record


def register_csv_body(
    organization: Organization,
    filters: QueueFilter,
    *,
    personal: bool,
    today: date,
    language: str | None = None,
) -> Iterator[str]:
    """The register as CSV, one chunk of the body per EXPORT_CHUNK_SIZE requests, its labels
    in `language` (the page's: the body is produced after the view has returned).

    The view's transaction and tenant context have ended when the body is produced, so the
    generator opens its own (one transaction: the server-side cursor needs it, and the export
    reads one consistent snapshot). Memory stays flat.
    """
    columns = register_columns(personal=personal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    with (
        translation.override(language),
        tenant_context(organization),
        data_keys_preloaded(organization.pk),
    ):
        book = jurisdiction_rule_book()
        contract_names = {
            c.engine_id: c.name for c in organization_contract_rules(organization=organization)
        }

        def label(rule_id: str, request_type: str) -> str:
            return rule_label(
                rule_id, book=book, request_type=request_type, contract_names=contract_names
            )

        rows = request_queue(organization=organization, filters=filters, today=today)
        if not personal:
            rows = rows.defer(*(f for f in PERSONAL_COLUMNS if f != "relationship"))
        pending = 0
        buffer.seek(0)
        buffer.truncate()
        for request in rows.iterator(chunk_size=EXPORT_CHUNK_SIZE):
            record = register_record(request, personal=personal, rule_label=label)
            writer.writerow([csv_cell(record[column]) for column in columns])
            pending += 1
            if pending >= EXPORT_CHUNK_SIZE:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        if pending:
            yield buffer.getvalue()
