"""Who may read which part of a privacy request: the field-level rule, in one table.

`accounts.permissions` says which pages and actions a role may use; this module says, within
the pages that show a request (the request page, the queue, the register export, the API, the
email search), which *values* a role may read. Every field of `PrivacyRequest`,
`RequestMessage` and `RequestEvent` (and every key of each timeline payload kind) belongs to
one `FieldGroup`; `ROLE_READS` lists the groups each role may read. A test enumerates the
models' fields and fails on a field without a group, and on an encrypted field in a group
that is not personal.

The selectors that build pages and API responses hand out redacted views (`visible_request`,
`visible_messages`, `visible_timeline`, `visible_emails`): a forbidden attribute reads as
None and is never decrypted, so a template or serializer cannot render it by accident.
Views never decide field visibility themselves; they ask `request_access(role)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from accounts.permissions import Role
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage

if TYPE_CHECKING:
    from accounts.models import Organization


class FieldGroup(StrEnum):
    # references, types, statuses, channels, deadlines, assignees, outcomes, counts
    REGISTER = "register"
    # the requester: name, email, phone, postal address, relationship to the child
    CONTACT = "contact"
    # the person the data is about (usually a child): name, school, date of birth
    CHILD = "child"
    # what the requester wrote about the request
    DETAILS = "details"
    # what staff checked to verify the requester's identity
    EVIDENCE = "evidence"
    # the extension and closure reasons (free text, sent to the requester)
    REASONS = "reasons"
    # messages to and from the requester
    MESSAGES = "messages"
    # staff's internal notes, including the before/after values of recorded corrections
    INTERNAL_NOTES = "internal_notes"
    # never shown to anyone: keys, blind indexes, bookkeeping
    SYSTEM = "system"


# the groups that hold personal data (every encrypted field is in one of them)
PERSONAL_GROUPS = frozenset(
    {
        FieldGroup.CONTACT,
        FieldGroup.CHILD,
        FieldGroup.DETAILS,
        FieldGroup.EVIDENCE,
        FieldGroup.REASONS,
        FieldGroup.MESSAGES,
        FieldGroup.INTERNAL_NOTES,
    }
)
_WORKERS = frozenset({FieldGroup.REGISTER, *PERSONAL_GROUPS})

# Which groups each role reads. Roles that work requests need every personal value to do it
# (verify, answer, correct, delete). A viewer follows the queue's workload and deadlines: the
# register only. A billing contact does not see requests at all (no requests.view).
ROLE_READS: dict[Role, frozenset[FieldGroup]] = {
    Role.ORG_ADMIN: _WORKERS,
    Role.PRIVACY_OFFICER: _WORKERS,
    Role.PRIVACY_STAFF: _WORKERS,
    Role.BILLING_CONTACT: frozenset(),
    Role.VIEWER: frozenset({FieldGroup.REGISTER}),
}

G = FieldGroup
PRIVACY_REQUEST_FIELDS: dict[str, FieldGroup] = {
    "id": G.REGISTER,
    "organization": G.SYSTEM,
    "reference": G.REGISTER,
    "request_type": G.REGISTER,
    "status": G.REGISTER,
    "channel": G.REGISTER,
    "language": G.REGISTER,
    "requester_name": G.CONTACT,
    "requester_email": G.CONTACT,
    "requester_email_index": G.SYSTEM,
    "requester_phone": G.CONTACT,
    "requester_address": G.CONTACT,
    "relationship": G.CONTACT,
    "subject_name": G.CHILD,
    "subject_school": G.CHILD,
    "subject_birth_date": G.CHILD,
    "subject_index": G.SYSTEM,
    "details": G.DETAILS,
    "gpc_signal": G.REGISTER,
    "received_at": G.REGISTER,
    "email_confirmed_at": G.REGISTER,
    "verified_at": G.REGISTER,
    "verification_method": G.REGISTER,
    "verification_evidence": G.EVIDENCE,
    "acknowledged_at": G.REGISTER,
    "assignee": G.REGISTER,
    "deadlines": G.REGISTER,  # the deadline engine's snapshot: rule ids, dates, versions
    "acknowledge_by": G.REGISTER,
    "respond_by": G.REGISTER,
    "extended_respond_by": G.REGISTER,
    "extended_at": G.REGISTER,
    "extension_reason": G.REASONS,
    "next_due_on": G.REGISTER,
    "outcome": G.REGISTER,
    "closure_reason": G.REASONS,
    "closed_at": G.REGISTER,
    "duplicate_of": G.REGISTER,
    "routed_to_organization": G.REGISTER,
    "routed_to_reference": G.REGISTER,
    "routed_from_organization": G.REGISTER,
    "routed_from_reference": G.REGISTER,
    "routed_at": G.REGISTER,
    "deadline_snapshot_stale_since": G.REGISTER,
    "confirmation_reminder_sent_at": G.REGISTER,
    "created_at": G.REGISTER,
    "updated_at": G.REGISTER,
}

# A message's body is in the group of its direction: a note staff write for each other is
# not a message the requester sent or received.
MESSAGE_BODY_GROUPS: dict[str, FieldGroup] = {
    RequestMessage.Direction.TO_REQUESTER: G.MESSAGES,
    RequestMessage.Direction.FROM_REQUESTER: G.MESSAGES,
    RequestMessage.Direction.INTERNAL: G.INTERNAL_NOTES,
}
BY_DIRECTION = "by_direction"  # the table's marker for the body: see MESSAGE_BODY_GROUPS
REQUEST_MESSAGE_FIELDS: dict[str, FieldGroup | str] = {
    "id": G.REGISTER,
    "organization": G.SYSTEM,
    "request": G.REGISTER,
    "direction": G.REGISTER,
    "author": G.REGISTER,  # a member of staff (or none: the requester)
    "body": BY_DIRECTION,
    "created_at": G.REGISTER,
}

BY_KIND = "by_kind"  # the table's marker for the payload: see EVENT_PAYLOADS
REQUEST_EVENT_FIELDS: dict[str, FieldGroup | str] = {
    "id": G.REGISTER,
    "organization": G.SYSTEM,
    "request": G.REGISTER,
    "occurred_at": G.REGISTER,
    "kind": G.REGISTER,
    "actor": G.REGISTER,
    "from_status": G.REGISTER,
    "to_status": G.REGISTER,
    "data": BY_KIND,
}

# Every timeline payload kind and the group of each key it may hold. Payloads hold ids, flags,
# statuses and field names by design, never personal values; a key not listed here is shown
# to no one (and a test fails until it is classified).
_TRANSITION = {"reason_given": G.REGISTER}
EVENT_PAYLOADS: dict[str, dict[str, FieldGroup]] = {
    "received": {
        "channel": G.REGISTER,
        "request_type": G.REGISTER,
        "possible_duplicate_of": G.REGISTER,
        "verification_method": G.REGISTER,
    },
    "email_confirmed": {},
    "status_changed": _TRANSITION,
    "acknowledged": {**_TRANSITION, "message_sent": G.REGISTER},
    "verified": {**_TRANSITION, "method": G.REGISTER},
    "assigned": {"from_assignee_id": G.REGISTER, "to_assignee_id": G.REGISTER},
    "extended": {
        **_TRANSITION,
        "extended_respond_by": G.REGISTER,
        "notice_message_id": G.REGISTER,  # the written notice on the thread
        "notice_emailed": G.REGISTER,
    },
    "closed": {**_TRANSITION, "outcome": G.REGISTER},
    "withdrawn": _TRANSITION,
    "duplicate": {**_TRANSITION, "duplicate_of": G.REGISTER},
    "message_added": {"direction": G.REGISTER, "message_id": G.REGISTER, "emailed": G.REGISTER},
    "routed_in": {
        "from_organization": G.REGISTER,
        "from_reference": G.REGISTER,
        "channel": G.REGISTER,
        "request_type": G.REGISTER,
        "possible_duplicate_of": G.REGISTER,
    },
    "routed_out": {**_TRANSITION, "to_organization": G.REGISTER, "to_reference": G.REGISTER},
    "deadlines_reviewed": {
        "decision": G.REGISTER,
        "changed": G.REGISTER,
        "binding_rule": G.REGISTER,
    },
    "package_prepared": {
        "package_id": G.REGISTER,
        "files": G.REGISTER,
        "size": G.REGISTER,
        "sha256": G.REGISTER,
        "expires_at": G.REGISTER,
    },
    # evidence files: their kind, size and hash (the name and description are sealed on the row)
    "evidence_added": {
        "evidence_id": G.REGISTER,
        "kind": G.REGISTER,
        "size": G.REGISTER,
        "sha256": G.REGISTER,
    },
    "evidence_removed": {
        "evidence_id": G.REGISTER,
        "kind": G.REGISTER,
        "size": G.REGISTER,
        "sha256": G.REGISTER,
    },
    "deletion_performed": {
        "requests_deidentified": G.REGISTER,
        "messages_removed": G.REGISTER,
        "accounts_deidentified": G.REGISTER,
        "kept": G.REGISTER,  # codes of what the law keeps
    },
    # the names of the corrected fields (never their values: those are an internal note)
    "correction_recorded": {"fields": G.REGISTER, "changed": G.REGISTER, "message_id": G.REGISTER},
    "confirmation_reminder_sent": {"emailed": G.REGISTER},
}

# the emails-sent panel of the request page (k12cloud.notifications.OutboundEmail)
OUTBOUND_EMAIL_SHOWN: dict[str, FieldGroup] = {
    "to": G.CONTACT,  # mostly the requester's address
    "subject": G.REGISTER,  # the organization and the reference only
    "status": G.REGISTER,
    "attempts": G.REGISTER,
    "created_at": G.REGISTER,
    "sent_at": G.REGISTER,
}

EMAIL_SEARCH_REFUSED = _(
    "Searching by requester email looks up personal data. Your role cannot read requesters' "
    "contact details, so it cannot search by them."
)


@dataclass(frozen=True)
class RequestAccess:
    """What one role may read of a request. `can` is for templates: `access.can.contact`."""

    role: Role
    groups: frozenset[FieldGroup]
    can: Mapping[str, bool] = field(default_factory=dict)

    def reads(self, group: FieldGroup | str) -> bool:
        return group in self.groups

    @property
    def personal(self) -> bool:
        """Whether the role reads any personal value at all."""
        return bool(self.groups & PERSONAL_GROUPS)

    @property
    def email_search(self) -> bool:
        """Searching by requester email tests whether an address filed requests: a lookup of
        contact details, for roles that read them."""
        return self.reads(FieldGroup.CONTACT)

    @property
    def hidden_request_fields(self) -> frozenset[str]:
        return frozenset(
            name for name, group in PRIVACY_REQUEST_FIELDS.items() if not self.reads(group)
        )

    def message_body_shown(self, direction: str) -> bool:
        return self.reads(MESSAGE_BODY_GROUPS.get(direction, FieldGroup.SYSTEM))

    @property
    def reads_messages(self) -> bool:
        return any(self.reads(group) for group in MESSAGE_BODY_GROUPS.values())


def request_access(role: str) -> RequestAccess:
    """The field-level rule for `role` (a Role value; API keys carry one too)."""
    role = Role(role)
    groups = ROLE_READS[role]
    return RequestAccess(role, groups, {g.value: g in groups for g in FieldGroup})


# --- redacted views ---------------------------------------------------------------------------


class _Redacted:
    """A model instance as a role may read it: hidden attributes read as None (never
    decrypted); everything else is the instance's own."""

    __slots__ = ("_hidden", "_instance")

    def __init__(self, instance: Any, hidden: Iterable[str]) -> None:
        names = set(hidden)
        # a hidden choice field hides its label too (get_relationship_display)
        names |= {f"get_{name}_display" for name in list(names)}
        object.__setattr__(self, "_instance", instance)
        object.__setattr__(self, "_hidden", frozenset(names))

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            return None
        return getattr(self._instance, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a redacted view is read-only")

    def __str__(self) -> str:
        return str(self._instance)

    @property
    def redacted(self) -> frozenset[str]:
        """The names that read as None for this role."""
        return frozenset(self._hidden)


class RedactedRequest(_Redacted):
    __slots__ = ()


class RedactedMessage(_Redacted):
    __slots__ = ()


class RedactedEvent(_Redacted):
    __slots__ = ("data",)

    def __init__(self, instance: RequestEvent, data: dict[str, Any]) -> None:
        super().__init__(instance, ())
        object.__setattr__(self, "data", data)


def _reverse_relations() -> frozenset[str]:
    """The request's related managers (`messages`, `events`, ...): a way around the field
    rule, so only roles that read every personal value may follow them from a view."""
    return frozenset(
        rel.get_accessor_name() or "" for rel in PrivacyRequest._meta.related_objects
    ) - {""}


def visible_request(request: PrivacyRequest, access: RequestAccess) -> RedactedRequest:
    """The request with every field the role may not read as None (not decrypted)."""
    hidden = set(access.hidden_request_fields)
    if not access.groups >= PERSONAL_GROUPS:
        hidden |= _reverse_relations()
    return RedactedRequest(request, hidden)


def visible_payload(kind: str, data: Mapping[str, Any], access: RequestAccess) -> dict[str, Any]:
    """The keys of a timeline payload the role may read; an unclassified key for no one."""
    groups = EVENT_PAYLOADS.get(kind, {})
    return {
        key: value for key, value in data.items() if key in groups and access.reads(groups[key])
    }


def visible_timeline(events: Iterable[RequestEvent], access: RequestAccess) -> list[RedactedEvent]:
    return [RedactedEvent(e, visible_payload(e.kind, e.data or {}, access)) for e in events]


def visible_messages(
    *, organization: Organization, request: PrivacyRequest, access: RequestAccess
) -> list[RedactedMessage]:
    """Messages and notes, oldest first, with their authors (one query). A body the role may
    not read is None and is not even loaded; the count and the dates stay."""
    rows = (
        RequestMessage.objects.for_organization(organization)
        .filter(request=request)
        .select_related("author")
        .order_by("created_at", "pk")
    )
    if not access.reads_messages:
        rows = rows.defer("body")
    return [
        RedactedMessage(m, () if access.message_body_shown(m.direction) else ("body",))
        for m in rows
    ]


def visible_emails(emails: Iterable[Any], access: RequestAccess) -> list[_Redacted]:
    """The emails-sent panel's rows: the recipient address for roles that read contacts."""
    hidden = [name for name, group in OUTBOUND_EMAIL_SHOWN.items() if not access.reads(group)]
    return [_Redacted(email, hidden) for email in emails]


def hidden_fields_to_defer(access: RequestAccess) -> list[str]:
    """The concrete columns of PrivacyRequest a role's query need not load (`.defer()`)."""
    return sorted(
        name
        for name in access.hidden_request_fields
        if PRIVACY_REQUEST_FIELDS[name] in PERSONAL_GROUPS
    )


def model_fields(model: type[Any]) -> list[str]:
    """A model's own concrete fields (what the rule table must classify)."""
    return [f.name for f in model._meta.concrete_fields]


TABLES: dict[type[Any], Mapping[str, FieldGroup | str]] = {
    PrivacyRequest: PRIVACY_REQUEST_FIELDS,
    RequestMessage: REQUEST_MESSAGE_FIELDS,
    RequestEvent: REQUEST_EVENT_FIELDS,
}
