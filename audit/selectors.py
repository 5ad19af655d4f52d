"""Reads of the audit log shared by its portal page and its exports.

Pages are keyset ("cursor") pages on (occurred_at, id), newest first: each page is one indexed
range read however deep it is, and nothing ever counts the whole log. An organization sees only
its own events (the explicit filter here, and row-level security in its tenant context);
platform events (no organization) are for ops in the Django admin.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.dateparse import parse_datetime

from accounts.models import ApiKey, Organization, User
from audit.models import AuditEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    """What to narrow the log to; every part is optional. Times are aware datetimes."""

    actor_user_id: int | None = None
    actor_api_key_id: int | None = None
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    occurred_from: datetime | None = None  # inclusive
    occurred_before: datetime | None = None  # exclusive

    def summary(self) -> dict[str, Any]:
        """The filters in use, for the export's own audit event: ids and names only."""
        values = {
            "actor_user_id": self.actor_user_id,
            "actor_api_key_id": self.actor_api_key_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "occurred_from": self.occurred_from.isoformat() if self.occurred_from else None,
            "occurred_before": self.occurred_before.isoformat() if self.occurred_before else None,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


def audit_event_list(
    *, organization: Organization, filters: AuditFilter | None = None
) -> QuerySet[AuditEvent]:
    """The organization's events matching `filters`, newest first, with the actor's name,
    email and API key prefix in the same query (no query per row)."""
    filters = filters or AuditFilter()
    events = AuditEvent.objects.filter(organization=organization)
    if filters.actor_user_id is not None:
        events = events.filter(actor_user_id=filters.actor_user_id)
    if filters.actor_api_key_id is not None:
        events = events.filter(actor_api_key_id=filters.actor_api_key_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.target_type:
        events = events.filter(target_type=filters.target_type)
    if filters.target_id:
        events = events.filter(target_id=filters.target_id)
    if filters.occurred_from is not None:
        events = events.filter(occurred_at__gte=filters.occurred_from)
    if filters.occurred_before is not None:
        events = events.filter(occurred_at__lt=filters.occurred_before)
    user = User.objects.filter(pk=OuterRef("actor_user_id"))
    key = ApiKey.objects.filter(organization=organization, pk=OuterRef("actor_api_key_id"))
    return events.annotate(
        actor_email=Subquery(user.values("email")[:1]),
        actor_full_name=Subquery(user.values("full_name")[:1]),
        actor_api_key_prefix=Subquery(key.values("prefix")[:1]),
        actor_api_key_name=Subquery(key.values("name")[:1]),
    ).order_by("-occurred_at", "-id")


# --- keyset pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the (occurred_at, id) of an event, opaque in URLs."""

    occurred_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.occurred_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """The cursor a URL carries, or None when it is not one (tampered, truncated)."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            when, _, identifier = raw.partition("|")
            occurred_at = parse_datetime(when)
            if occurred_at is None or occurred_at.tzinfo is None:
                return None
            return cls(occurred_at, int(identifier))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    @classmethod
    def of(cls, event: AuditEvent) -> Cursor:
        return cls(event.occurred_at, event.pk)


@dataclass
class EventPage:
    events: list[AuditEvent]
    newer: Cursor | None = None  # link to the page before this one (towards now)
    older: Cursor | None = None  # link to the page after this one (towards the past)


def _older_than(cursor: Cursor) -> Q:
    # "occurred_at <= t" bounds the index range scan; the OR only filters the few rows at t
    return Q(occurred_at__lte=cursor.occurred_at) & (
        Q(occurred_at__lt=cursor.occurred_at) | Q(id__lt=cursor.id)
    )


def _newer_than(cursor: Cursor) -> Q:
    return Q(occurred_at__gte=cursor.occurred_at) & (
        Q(occurred_at__gt=cursor.occurred_at) | Q(id__gt=cursor.id)
    )


def audit_event_page(
    *,
    organization: Organization,
    filters: AuditFilter | None = None,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of events, newest first, in one query (it reads one row more than it shows).

    Without a cursor: the newest events. `older_than` pages towards the past ("Older"),
    `newer_than` back towards now ("Newer"). Events are append-only, so the event a cursor
    names always exists: coming from it means there is a page on that side.
    """
    events = audit_event_list(organization=organization, filters=filters)
    if newer_than is not None:
        rows = list(
            events.filter(_newer_than(newer_than)).order_by("occurred_at", "id")[: size + 1]
        )
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return EventPage(
            rows,
            newer=Cursor.of(rows[0]) if rows and more_newer else None,
            older=Cursor.of(rows[-1]) if rows else None,
        )
    if older_than is not None:
        events = events.filter(_older_than(older_than))
    rows = list(events[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return EventPage(
        rows,
        newer=Cursor.of(rows[0]) if rows and older_than is not None else None,
        older=Cursor.of(rows[-1]) if rows and more_older else None,
    )
