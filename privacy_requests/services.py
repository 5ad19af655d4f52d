"""Writes of privacy requests: receipt, the status machine and every action on a request.

`request_transition` is the one place that changes a request's status: the table in
`privacy_requests.status` says which moves exist, the guards here say when a move is allowed
for this request (verified before work starts or a request is fulfilled, one extension with a
reason before the original deadline, on hold only where the binding rule allows pausing).
Every action runs in one transaction, takes the row lock, writes one timeline event
(`RequestEvent`) and exactly one audit event, and sends email only after commit.

Refusals raise `RequestActionRefused` (a ValidationError) with a message a person can act on;
a move the table forbids raises its subclass `RequestTransitionRefused`, naming both statuses.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record
from k12cloud.notifications.services import email_enqueue
from privacy_requests.alerts import (
    alert_request_assigned,
    alert_request_new,
    alert_requester_replied,
)
from privacy_requests.contact import requester_reply_to, requester_status_link
from privacy_requests.extension_notice import extension_notice_text
from privacy_requests.models import (
    REFERENCE_CONSTRAINT,
    PrivacyRequest,
    RequestEvent,
    RequestMessage,
)
from privacy_requests.received_time import received_at_problem
from privacy_requests.rules.names import rule_name
from privacy_requests.rules.selectors import OrganizationRules, organization_deadlines
from privacy_requests.selectors import (
    request_pausing_allowed,
    request_today,
)
from privacy_requests.status import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    UNVERIFIED_STATUSES,
    Status,
    can_move,
)

if TYPE_CHECKING:
    from accounts.models import Organization, User

# Without 0/O, 1/I/L: a reference is read out over the phone.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
STAFF_VERIFICATION_METHODS = frozenset(
    {
        PrivacyRequest.VerificationMethod.IN_PERSON_ID,
        PrivacyRequest.VerificationMethod.RECORDS_MATCH,
        PrivacyRequest.VerificationMethod.SIGNED_DECLARATION,
        PrivacyRequest.VerificationMethod.AGENT_PROOF,
    }
)
# Statuses that acknowledging moves to ACKNOWLEDGED (later statuses keep theirs).
_ACKNOWLEDGE_MOVES = frozenset({Status.RECEIVED, Status.AWAITING_VERIFICATION, Status.VERIFIED})
# Statuses that verifying moves to VERIFIED.
_VERIFY_MOVES = frozenset({Status.RECEIVED, Status.AWAITING_VERIFICATION, Status.ACKNOWLEDGED})
# Moves that need more than a status: they go through their own service.
_OWN_SERVICE = {
    Status.EXTENDED: "request_extend",
    Status.DUPLICATE: "request_mark_duplicate",
    Status.FULFILLED: "request_close",
    Status.DENIED: "request_close",
}


class RequestActionRefused(ValidationError):
    """An action the request's state does not allow; the message says why."""


class RequestTransitionRefused(RequestActionRefused):
    """A status move the status machine forbids."""


def _label(status: str) -> str:
    return str(Status(status).label)


def _refuse_move(current: str, target: str) -> RequestTransitionRefused:
    return RequestTransitionRefused(
        _("A request that is “%(current)s” cannot be moved to “%(target)s”.")
        % {"current": _label(current), "target": _label(target)},
        code="transition_forbidden",
    )


def _new_reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


REFERENCE_ATTEMPTS = 5


def request_insert(request: PrivacyRequest, event: RequestEvent | None = None) -> list[int]:
    """INSERT a new request under a fresh random reference, and return the ids of its
    possible duplicates (open requests of its organization with the same type, requester email
    and subject, by blind index, oldest first; a request without an email address matches
    nothing), in one statement.

    The reference is drawn again when it is taken in the organization (IntegrityError after
    REFERENCE_ATTEMPTS draws): `ON CONFLICT ON CONSTRAINT` the reference's unique constraint
    answers a clash with no row instead of an error, so no savepoint is needed to go on in the
    same transaction. Any other violation raises as usual. The duplicate check rides in the
    same statement: its SELECT runs on the statement's snapshot, which does not hold the row
    being inserted, so the new request never matches itself. Together: one round trip where
    `save()` in a savepoint and the check took four.

    `event`, the request's first timeline entry (unsaved, its request left unset), rides in
    the same statement too: it is inserted for the request's row (none on a clash), and when
    there are duplicates its data gains "possible_duplicate_of" (their ids), as the caller
    used to add before saving it; jsonb keeps the keys in its own order (`_jsonb`).

    The values are prepared as `save()` prepares them (`pre_save` with add=True: the
    timestamps, the sealed values and their blind indexes), and the instances are left as
    `save()` leaves them: their ids set, no longer "adding".
    """
    fields = _insert_fields()
    names = [f.name for f in fields]
    values = [f.get_db_prep_save(f.pre_save(request, True), connection) for f in fields]
    # the duplicate criteria (with no email address, nothing: the hash of "" is indexed too)
    checked = bool(request.requester_email and request.requester_email_index)
    criteria = [
        checked,
        values[names.index("organization")],
        values[names.index("request_type")],
        values[names.index("requester_email_index")],
        values[names.index("subject_index")],
        [status.value for status in OPEN_STATUSES],
    ]
    event_values = (
        []
        if event is None
        else [
            f.get_db_prep_save(f.pre_save(event, True), connection)
            for f in _event_insert_fields()
            if f.name != "request"
        ]
    )
    sql = _insert_sql(with_event=event is not None)
    reference_at = names.index("reference")
    for _attempt in range(REFERENCE_ATTEMPTS):
        request.reference = values[reference_at] = _new_reference()
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *criteria, *event_values])
            inserted_id, duplicate_ids, event_id = cursor.fetchone()
        if inserted_id is not None:
            _saved(request, inserted_id)
            duplicates = list(duplicate_ids)
            if event is not None:
                event.request = request
                _saved(event, event_id)
                if duplicates:
                    event.data = _jsonb({**event.data, "possible_duplicate_of": duplicates})
            return duplicates
    raise IntegrityError(
        f"No free request reference in {REFERENCE_ATTEMPTS} draws "
        f"(organization {request.organization_id})."
    )


def _saved(instance: Any, pk: int) -> None:
    """Leave `instance` as `save()` leaves a new row: its id set, no longer "adding"."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


@cache
def _insert_fields() -> tuple[Any, ...]:
    """The columns request_insert writes, in its statement's order: all but the id."""
    return tuple(f for f in PrivacyRequest._meta.concrete_fields if not f.primary_key)


@cache
def _event_insert_fields() -> tuple[Any, ...]:
    """The columns of the timeline event request_insert writes, in its statement's order."""
    return tuple(f for f in RequestEvent._meta.concrete_fields if not f.primary_key)


@cache
def _insert_sql(*, with_event: bool) -> str:
    """request_insert's statement: the INSERT of `_insert_fields()`, then the duplicate
    check's parameters (whether to check, organization, type, the two indexes, the open
    statuses), then, `with_event`, the event's values (all but its request)."""
    fields = _insert_fields()
    quote = connection.ops.quote_name
    table = quote(PrivacyRequest._meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"WITH inserted AS (INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ON CONSTRAINT {quote(REFERENCE_CONSTRAINT)} DO NOTHING RETURNING id), "
        "duplicates AS (SELECT ARRAY("
        f"SELECT id FROM {table} WHERE %s AND organization_id = %s AND request_type = %s "
        "AND requester_email_index = %s AND subject_index = %s AND status = ANY(%s) "
        "ORDER BY received_at, id) AS ids)"
    )
    if not with_event:
        return sql + " SELECT (SELECT id FROM inserted), (SELECT ids FROM duplicates), NULL"
    event_fields = _event_insert_fields()
    selected = []
    for f in event_fields:
        if f.name == "request":
            selected.append("inserted.id")
        elif f.name == "data":
            selected.append(
                "(%s)::jsonb || CASE WHEN cardinality(duplicates.ids) > 0 THEN "
                "jsonb_build_object('possible_duplicate_of', to_jsonb(duplicates.ids)) "
                "ELSE '{}'::jsonb END"
            )
        else:
            selected.append("%s")
    return sql + (
        f", event AS (INSERT INTO {quote(RequestEvent._meta.db_table)} "
        f"({', '.join(quote(str(f.column)) for f in event_fields)}) "
        f"SELECT {', '.join(selected)} FROM inserted, duplicates RETURNING id) "
        "SELECT (SELECT id FROM inserted), (SELECT ids FROM duplicates), "
        "(SELECT id FROM event)"
    )


def next_due_on(request: PrivacyRequest) -> Any:
    """The earliest open deadline: acknowledge_by until acknowledged, then the response date
    (the extended one once an extension is granted); None once closed."""
    if request.closed_at is not None or Status(request.status) in CLOSED_STATUSES:
        return None
    response = request.extended_respond_by if request.extended_at else request.respond_by
    candidates = [response]
    if request.acknowledged_at is None:
        candidates.append(request.acknowledge_by)
    dates = [d for d in candidates if d is not None]
    return min(dates) if dates else None


def _locked(request: PrivacyRequest) -> PrivacyRequest:
    return (
        PrivacyRequest.objects.for_organization(request.organization)
        .select_for_update()
        .select_related("organization")
        .get(pk=request.pk)
    )


def _event(
    request: PrivacyRequest,
    kind: str,
    actor: User | None,
    *,
    from_status: str = "",
    to_status: str = "",
    data: Mapping[str, Any] | None = None,
) -> RequestEvent:
    return RequestEvent.objects.create(
        organization=request.organization,
        request=request,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        data=dict(data or {}),
    )


def _check_move(request: PrivacyRequest, to_status: Status) -> None:
    """The table and the guards that depend on the request; raises RequestActionRefused."""
    if not can_move(request.status, to_status):
        raise _refuse_move(request.status, to_status)
    if to_status in (Status.IN_PROGRESS, Status.FULFILLED) and request.verified_at is None:
        raise RequestActionRefused(
            _("Verify the requester's identity before the request is “%(target)s”.")
            % {"target": _label(to_status)},
            code="not_verified",
        )
    if to_status in UNVERIFIED_STATUSES and request.verified_at is not None:
        raise RequestActionRefused(
            _("The requester's identity is verified: the request cannot be “%(target)s”.")
            % {"target": _label(to_status)},
            code="already_verified",
        )
    if to_status == Status.ON_HOLD and not request_pausing_allowed(request=request):
        raise RequestActionRefused(
            _(
                "The rule that binds this request (%(rule)s) does not allow stopping the "
                "clock: it cannot be put on hold."
            )
            % {"rule": rule_name(request.deadlines.get("binding_rule", "?"))},
            code="pausing_not_allowed",
        )


def _apply_status(request: PrivacyRequest, to_status: Status) -> list[str]:
    """Set the status and what follows from it; returns the changed field names."""
    request.status = to_status
    fields = ["status"]
    if to_status in CLOSED_STATUSES and request.closed_at is None:
        request.closed_at = timezone.now()
        fields.append("closed_at")
    request.next_due_on = next_due_on(request)
    return [*fields, "next_due_on"]


def _save(request: PrivacyRequest, fields: list[str]) -> None:
    request.save(update_fields=sorted({*fields, "updated_at"}))


# --- receipt --------------------------------------------------------------------------------


def request_receive(
    *,
    organization: Organization,
    request_type: str,
    channel: str,
    relationship: str,
    requester_name: str,
    requester_email: str = "",
    requester_phone: str = "",
    requester_address: str = "",
    subject_name: str = "",
    subject_school: str = "",
    subject_birth_date: str = "",
    details: str = "",
    gpc_signal: bool = False,
    language: str = "en",
    received_at: datetime | None = None,
    actor: User | None = None,
    verification_method: str = "",
    verification_evidence: str = "",
    alert: bool = True,
    rules: OrganizationRules | None = None,
) -> PrivacyRequest:
    """Record a new request with the deadlines the engine gives for its local date.

    `received_at` defaults to now; its local date in the organization's time zone is day zero.
    It must lie in the range of privacy_requests.received_time (else RequestActionRefused with
    code "received_at").
    Staff-entered requests pass `actor`, and may pass how identity was checked
    (`verification_method`, one of STAFF_VERIFICATION_METHODS, and the evidence): the request
    is then verified at receipt. A possible duplicate (an open request of the same type with
    the same requester email and subject) is noted in the timeline event, never closed here.
    Raises the deadline engine's errors when no rule sets a deadline for the type.
    The privacy team is alerted (privacy_requests.alerts) in the same transaction unless
    `alert` is False: the public form alerts once the requester confirms the email.
    `rules`: the organization's deadline rules as `organization_rules()` read them (else read
    here, one statement).
    """
    received_at = received_at or timezone.now()
    problem = received_at_problem(received_at)
    if problem is not None:  # before any deadline arithmetic, which absurd dates overflow
        raise RequestActionRefused(problem, code="received_at")
    if verification_method and verification_method not in STAFF_VERIFICATION_METHODS:
        raise RequestActionRefused(
            _("Choose how the requester's identity was checked."), code="verification_method"
        )
    _result, snapshot = organization_deadlines(
        organization=organization, request_type=request_type, received_at=received_at, rules=rules
    )
    verified = bool(verification_method)
    request = PrivacyRequest(
        organization=organization,
        request_type=request_type,
        status=Status.VERIFIED if verified else Status.RECEIVED,
        channel=channel,
        language=language,
        requester_name=requester_name,
        requester_email=requester_email,
        requester_phone=requester_phone,
        requester_address=requester_address,
        relationship=relationship,
        subject_name=subject_name,
        subject_school=subject_school,
        subject_birth_date=subject_birth_date,
        details=details,
        gpc_signal=gpc_signal,
        received_at=received_at,
        verified_at=timezone.now() if verified else None,
        verification_method=verification_method,
        verification_evidence=verification_evidence if verified else "",
        deadlines=snapshot.to_json_dict(),
        acknowledge_by=snapshot.acknowledge_by,
        respond_by=snapshot.respond_by,
    )
    request.next_due_on = next_due_on(request)
    # No savepoint of its own inside a caller's transaction (a request's): what can fail was
    # checked above, and anything raised in here propagates, so the caller's transaction rolls
    # back whole. A clashing reference is drawn again without one (request_insert).
    data: dict[str, Any] = {"channel": channel, "request_type": request_type}
    if verified:
        data["verification_method"] = verification_method
    # keys in the order jsonb keeps them, so the event in hand reads as the stored one
    event = RequestEvent(
        organization=organization,
        kind="received",
        actor=actor,
        to_status=request.status,
        data=_jsonb(data),
    )
    with transaction.atomic(savepoint=False):
        # the request, its duplicate check and its "received" event (which names the
        # duplicates, if any) in one statement
        duplicate_ids = request_insert(request, event)
        if alert:
            alert_request_new(request=request, actor=actor)
        record(
            Action.REQUEST_RECEIVED,
            organization=organization,
            target=request,
            changes={
                "request_type": request_type,
                "channel": channel,
                "status": request.status,
                "verified": verified,
                "possible_duplicates": len(duplicate_ids),
                "binding_rule": snapshot.binding_rule,
            },
        )
    # the timeline so far, for an answer built from the instance in hand (the API's 201)
    request.received_timeline = [event]  # type: ignore[attr-defined]
    return request


def _jsonb(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` (flat: its values are strings, numbers, booleans and lists of them) with its
    keys in jsonb's order: shorter keys first, then byte order."""
    return dict(sorted(data.items(), key=lambda item: (len(item[0].encode()), item[0].encode())))


def request_confirm_email(*, request: PrivacyRequest) -> PrivacyRequest:
    """The requester followed the confirmation link: record it, RECEIVED → AWAITING_VERIFICATION.

    Idempotent: a second confirmation changes nothing and writes nothing. The first one
    alerts the privacy team: a web request reaches people once its address is confirmed.
    """
    with transaction.atomic():
        request = _locked(request)
        if request.email_confirmed_at is not None:
            return request
        request.email_confirmed_at = timezone.now()
        fields = ["email_confirmed_at"]
        from_status = request.status
        if request.status == Status.RECEIVED:
            fields += _apply_status(request, Status.AWAITING_VERIFICATION)
        _save(request, fields)
        _event(request, "email_confirmed", None, from_status=from_status, to_status=request.status)
        record(
            Action.REQUEST_EMAIL_CONFIRMED,
            organization=request.organization,
            target=request,
            changes={"from": from_status, "to": request.status},
        )
        if request.is_open:
            alert_request_new(request=request)
    return request


# --- the status machine ---------------------------------------------------------------------


def request_transition(
    *, request: PrivacyRequest, to_status: str, actor: User | None, reason: str = ""
) -> PrivacyRequest:
    """Move the request to `to_status` (start work, put on hold, resume, close as unverified,
    withdraw). Moves that need more than a status (extend, fulfil, deny, duplicate) have their
    own service; asking for them here is refused with the service to use.

    Raises RequestTransitionRefused for a move the table forbids, RequestActionRefused for a
    guard. `reason` is kept encrypted as the closure reason when the move closes the request.
    """
    target = Status(to_status)
    if target in _OWN_SERVICE:
        with transaction.atomic():
            locked = _locked(request)
            if not can_move(locked.status, target):
                raise _refuse_move(locked.status, target)
        raise RequestActionRefused(
            _("Use the “%(target)s” action: it records what this move needs.")
            % {"target": _label(target)},
            code="use_action",
        )
    with transaction.atomic():
        request = _locked(request)
        return _transition(request, target, actor, reason=reason)


def _transition(
    request: PrivacyRequest,
    target: Status,
    actor: User | None,
    *,
    reason: str = "",
    action: Action = Action.REQUEST_STATUS_CHANGED,
    kind: str = "status_changed",
    extra_fields: list[str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> PrivacyRequest:
    """Inside a transaction, on a locked row: check, move, save, timeline event, one audit."""
    _check_move(request, target)
    from_status = request.status
    fields = [*(extra_fields or []), *_apply_status(request, target)]
    if target in CLOSED_STATUSES and reason:
        request.closure_reason = reason
        fields.append("closure_reason")
    _save(request, fields)
    event_data = {**(data or {}), "reason_given": bool(reason)}
    _event(request, kind, actor, from_status=from_status, to_status=target, data=event_data)
    record(
        action,
        organization=request.organization,
        target=request,
        changes={"from": from_status, "to": target.value, **(data or {})},
    )
    return request


def request_acknowledge(
    *, request: PrivacyRequest, actor: User | None, message: str = ""
) -> PrivacyRequest:
    """Confirm receipt to the requester. Sets acknowledged_at; RECEIVED, AWAITING_VERIFICATION
    and VERIFIED move to ACKNOWLEDGED; next_due_on becomes the response date. A `message` is
    kept as a message to the requester and emailed after commit (when there is an address).
    """
    with transaction.atomic():
        request = _locked(request)
        if request.acknowledged_at is not None:
            raise RequestActionRefused(
                _("This request was already acknowledged."), code="already_acknowledged"
            )
        if request.closed_at is not None:
            raise RequestActionRefused(_("A closed request cannot be acknowledged."), code="closed")
        request.acknowledged_at = timezone.now()
        data = {"message_sent": bool(message)}
        if Status(request.status) in _ACKNOWLEDGE_MOVES:
            _transition(
                request,
                Status.ACKNOWLEDGED,
                actor,
                action=Action.REQUEST_ACKNOWLEDGED,
                kind="acknowledged",
                extra_fields=["acknowledged_at"],
                data=data,
            )
        else:
            request.next_due_on = next_due_on(request)
            _save(request, ["acknowledged_at", "next_due_on"])
            _event(request, "acknowledged", actor, data=data)
            record(
                Action.REQUEST_ACKNOWLEDGED,
                organization=request.organization,
                target=request,
                changes={"status": request.status, **data},
            )
        if message:
            _message(request, actor, RequestMessage.Direction.TO_REQUESTER, message)
    return request


def request_verify(
    *, request: PrivacyRequest, actor: User | None, method: str, evidence: str = ""
) -> PrivacyRequest:
    """A staff decision that the requester is who they say (or an authorized agent): records
    the method and the evidence (encrypted); RECEIVED, AWAITING_VERIFICATION and ACKNOWLEDGED
    move to VERIFIED, later statuses keep theirs."""
    if method not in PrivacyRequest.VerificationMethod.values:
        raise RequestActionRefused(
            _("Choose how the requester's identity was checked."), code="verification_method"
        )
    with transaction.atomic():
        request = _locked(request)
        if request.verified_at is not None:
            raise RequestActionRefused(
                _("The requester's identity is already verified."), code="already_verified"
            )
        if request.closed_at is not None:
            raise RequestActionRefused(_("A closed request cannot be verified."), code="closed")
        request.verified_at = timezone.now()
        request.verification_method = method
        request.verification_evidence = evidence
        extra = ["verified_at", "verification_method", "verification_evidence"]
        data = {"method": method}
        if Status(request.status) in _VERIFY_MOVES:
            return _transition(
                request,
                Status.VERIFIED,
                actor,
                action=Action.REQUEST_VERIFIED,
                kind="verified",
                extra_fields=extra,
                data=data,
            )
        _save(request, extra)
        _event(request, "verified", actor, data=data)
        record(
            Action.REQUEST_VERIFIED,
            organization=request.organization,
            target=request,
            changes={"status": request.status, **data},
        )
    return request


def request_assign(
    *,
    request: PrivacyRequest,
    assignee: User | None,
    actor: User | None,
    actor_role: str | None = None,
) -> PrivacyRequest:
    """Give the request to a member who may work requests (None: unassign).

    `actor_role`: the caller's role (a member's, or an API key's), checked against
    `accounts.permissions.assignment_allowed` on the locked row: privacy staff may take an
    unassigned request or give their own back, officers and admins may assign anyone. The
    portal and the API pass it; None (internal callers) checks nothing. The new assignee is
    alerted (privacy_requests.alerts) unless they took it themselves.
    """
    from accounts.models import Membership
    from accounts.permissions import Permission, assignment_allowed, role_allows

    with transaction.atomic():
        request = _locked(request)
        if request.closed_at is not None:
            raise RequestActionRefused(_("A closed request cannot be reassigned."), code="closed")
        if actor_role is not None and not assignment_allowed(
            role=actor_role,
            actor_id=actor.pk if actor is not None else None,
            current_assignee_id=request.assignee_id,
            assignee_id=assignee.pk if assignee is not None else None,
        ):
            raise RequestActionRefused(
                _(
                    "Your role may assign a request only to yourself, when nobody else has it, "
                    "or give your own request back."
                ),
                code="assignee",
            )
        if assignee is not None:
            membership = (
                Membership.objects.for_organization(request.organization)
                .filter(user=assignee, is_active=True)
                .first()
            )
            if membership is None or not role_allows(membership.role, Permission.REQUESTS_WORK):
                raise RequestActionRefused(
                    _("Choose an active member whose role may work on requests."),
                    code="assignee",
                )
        before = request.assignee_id
        request.assignee = assignee
        _save(request, ["assignee"])
        data = {"from_assignee_id": before, "to_assignee_id": assignee.pk if assignee else None}
        event = _event(request, "assigned", actor, data=data)
        record(
            Action.REQUEST_ASSIGNED, organization=request.organization, target=request, changes=data
        )
        if assignee is not None and assignee.pk != before:
            alert_request_assigned(request=request, assignee=assignee, event=event, actor=actor)
    return request


def request_extend(*, request: PrivacyRequest, actor: User | None, reason: str) -> PrivacyRequest:
    """Extend the response deadline once, with a reason, before the original deadline has
    passed (in the organization's time zone), when the binding rules allow an extension.
    Sets extended_respond_by from the snapshot and moves the request to EXTENDED. The written
    notice (reason and new date, in the request's language: `extension_notice`) goes on the
    thread as a message to the requester and is emailed after commit when there is an address.
    """
    reason = reason.strip()
    with transaction.atomic():
        request = _locked(request)
        if request.extended_at is not None:
            raise RequestActionRefused(
                _("This request was already extended; a deadline can be extended only once."),
                code="already_extended",
            )
        if not reason:
            raise RequestActionRefused(
                _("Give the reason for the extension; the requester is told it."),
                code="reason_required",
            )
        extended_to = request.deadlines.get("respond_by_extended")
        if not extended_to:
            raise RequestActionRefused(
                _("The rule that binds this request (%(rule)s) does not allow an extension.")
                % {"rule": rule_name(request.deadlines.get("binding_rule", "?"))},
                code="extension_not_allowed",
            )
        today = request_today(organization=request.organization)
        if request.respond_by is not None and today > request.respond_by:
            raise RequestActionRefused(
                _(
                    "The original deadline (%(deadline)s) has passed: an extension must be "
                    "taken before it."
                )
                % {"deadline": request.respond_by.isoformat()},
                code="deadline_passed",
            )
        _check_move(request, Status.EXTENDED)  # refused before the notice is written
        request.extended_at = timezone.now()
        request.extended_respond_by = datetime.fromisoformat(extended_to).date()
        request.extension_reason = reason
        # the written notice the law requires before the original deadline: a message to the
        # requester on the thread, emailed after commit when there is an address (otherwise
        # staff send it by the channel the request came in; the request page says so)
        notice = _message(
            request,
            actor,
            RequestMessage.Direction.TO_REQUESTER,
            extension_notice_text(
                privacy_request=request,
                organization_name=request.organization.name,
                extended_respond_by=request.extended_respond_by,
                reason=reason,
            ),
        )
        return _transition(
            request,
            Status.EXTENDED,
            actor,
            action=Action.REQUEST_EXTENDED,
            kind="extended",
            extra_fields=["extended_at", "extended_respond_by", "extension_reason"],
            data={
                "extended_respond_by": extended_to,
                "notice_message_id": notice.pk,
                "notice_emailed": bool(request.requester_email),
            },
        )


def request_close(
    *,
    request: PrivacyRequest,
    actor: User | None,
    outcome: str,
    reason: str,
    open_vendor_tasks_reason: str = "",
) -> PrivacyRequest:
    """Close with an outcome: fulfilled or partially fulfilled (status FULFILLED, identity
    verified) or denied (status DENIED). Denial and partial fulfilment need a reason, which
    the requester is told (kept encrypted). A deletion request with open vendor tasks closes
    as fulfilled only with `open_vendor_tasks_reason` (vendors.services guard)."""
    outcome = PrivacyRequest.Outcome(outcome)
    reason = reason.strip()
    if outcome != PrivacyRequest.Outcome.FULFILLED and not reason:
        raise RequestActionRefused(
            _("Give the reason; the requester is told it."), code="reason_required"
        )
    target = Status.DENIED if outcome == PrivacyRequest.Outcome.DENIED else Status.FULFILLED
    with transaction.atomic():
        request = _locked(request)
        if target == Status.FULFILLED:
            from vendors.services import vendor_tasks_closure_check

            vendor_tasks_closure_check(
                organization=request.organization,
                privacy_request=request,
                reason=open_vendor_tasks_reason,
            )
        request.outcome = outcome
        return _transition(
            request,
            target,
            actor,
            reason=reason,
            action=Action.REQUEST_CLOSED,
            kind="closed",
            extra_fields=["outcome"],
            data={"outcome": outcome.value},
        )


def request_withdraw(
    *, request: PrivacyRequest, actor: User | None = None, reason: str = ""
) -> PrivacyRequest:
    """The requester withdrew the request (told staff, or through the public page: actor None)."""
    with transaction.atomic():
        request = _locked(request)
        return _transition(
            request,
            Status.WITHDRAWN,
            actor,
            reason=reason,
            action=Action.REQUEST_CLOSED,
            kind="withdrawn",
        )


def request_mark_duplicate(
    *, request: PrivacyRequest, actor: User | None, original: PrivacyRequest
) -> PrivacyRequest:
    """Close the request as a duplicate of `original` (another request of the organization)."""
    if original.pk == request.pk or original.organization_id != request.organization_id:
        raise RequestActionRefused(
            _("Choose another request of this organization as the original."), code="original"
        )
    with transaction.atomic():
        request = _locked(request)
        if original.duplicate_of_id == request.pk:
            raise RequestActionRefused(
                _("That request is itself a duplicate of this one."), code="original"
            )
        request.duplicate_of = original
        return _transition(
            request,
            Status.DUPLICATE,
            actor,
            action=Action.REQUEST_CLOSED,
            kind="duplicate",
            extra_fields=["duplicate_of"],
            data={"duplicate_of": original.pk},
        )


# --- messages and notes ---------------------------------------------------------------------


def _message(
    request: PrivacyRequest, actor: User | None, direction: str, body: str
) -> RequestMessage:
    message = RequestMessage.objects.create(
        organization=request.organization,
        request=request,
        direction=direction,
        author=actor,
        body=body,
    )
    if direction == RequestMessage.Direction.TO_REQUESTER and request.requester_email:
        # into the outbox, in this transaction: sent after commit (k12cloud.notifications)
        language = request.language or None
        with translation.override(language):
            # the subject names the reference only: no personal data in mail headers
            subject = _("Your privacy request %(reference)s") % {"reference": request.reference}
        email_enqueue(
            organization=request.organization,
            to=request.requester_email,
            template="notifications/email/message_to_requester",
            subject=subject,
            context={
                "body": body,
                "reference": request.reference,
                # where a reply goes: the privacy contact, else (unread sender) the status page
                "reply_to": requester_reply_to(request.organization),
                "status_link": requester_status_link(request),
            },
            target=request,
            language=language,
            reply_to=requester_reply_to(request.organization),
        )
    return message


def request_message_add(
    *, request: PrivacyRequest, actor: User | None, direction: str, body: str
) -> RequestMessage:
    """Add a message to the requester (emailed after commit when there is an address), one
    from them (entered by staff), or an internal note the requester never sees."""
    direction = RequestMessage.Direction(direction)
    body = body.strip()
    if not body:
        raise RequestActionRefused(_("Write the message."), code="body_required")
    with transaction.atomic():
        request = _locked(request)
        message = _message(request, actor, direction, body)
        emailed = direction == RequestMessage.Direction.TO_REQUESTER and bool(
            request.requester_email
        )
        data = {"direction": direction.value, "message_id": message.pk, "emailed": emailed}
        _event(request, "message_added", actor, data=data)
        record(
            Action.REQUEST_MESSAGE_ADDED,
            organization=request.organization,
            target=request,
            changes=data,
        )
        if direction == RequestMessage.Direction.FROM_REQUESTER:
            alert_requester_replied(request=request, message=message, actor=actor)
    return message
