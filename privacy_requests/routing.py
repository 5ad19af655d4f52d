"""Routing requests between organizations, and stale deadline snapshots.

Routing: a request sent to the `k12cloud` platform organization about data another
organization controls (a district's student records) is moved to that organization's queue
by platform privacy staff (`request_route`). In one transaction a copy is created in the
target organization (its personal fields re-encrypted under the target's key, because they
are assigned as plaintext to a row of the target), keeping the original receipt time so the
legal clock runs from the day the requester wrote, with deadlines recomputed under the
target's rules; the platform's request closes as ROUTED. Both organizations' audit chains get
an event (REQUEST_ROUTED_OUT on the platform, REQUEST_ROUTED_IN on the target), and both rows
keep the other side's organization and reference. The requester is emailed after commit.

Stale snapshots: a request keeps the deadlines computed at receipt with the version of every
rule used (`deadlines.rule_versions`). When an organization's rule selection, contract rules
or closures change, or ops edit a jurisdiction rule, `deadline_snapshots_flag_stale` sets
`deadline_snapshot_stale_since` on its open requests whose snapshot no longer matches the
rules (`selectors.deadline_snapshot_is_stale`), one UPDATE per distinct (request type, rule
versions) combination: set-based, however many requests there are. Staff then review each
flagged request (`request_deadlines_review`): apply the recomputed dates, or keep the
originals; both are audited and clear the flag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization
from audit.actions import Action
from audit.context import acting_as, actor_for_user
from audit.services import record
from k12cloud.notifications.services import email_enqueue
from k12cloud.tasks import tenant_task
from k12cloud.tenancy import tenant_context
from privacy_requests.alerts import alert_request_routed_in
from privacy_requests.contact import requester_reply_to
from privacy_requests.deadlines import DeadlineError, DeadlineSnapshot
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.rules.models import CONTRACT_RULE_PREFIX
from privacy_requests.rules.names import rule_name
from privacy_requests.rules.selectors import (
    RuleBook,
    deadline_snapshot_is_stale,
    jurisdiction_rule_book,
    organization_contract_rules,
    organization_deadlines,
)
from privacy_requests.services import (
    RequestActionRefused,
    _event,
    _locked,
    _transition,
    next_due_on,
    request_insert,
)
from privacy_requests.status import OPEN_STATUSES, Status

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Copied to the target organization's request. Identity verification and acknowledgement are
# not: the organization that holds the records verifies and acknowledges for itself.
_COPIED_FIELDS = (
    "request_type",
    "channel",
    "language",
    "requester_name",
    "requester_email",
    "requester_phone",
    "requester_address",
    "relationship",
    "subject_name",
    "subject_school",
    "subject_birth_date",
    "details",
    "gpc_signal",
    "received_at",
    "email_confirmed_at",
)
# a snapshot key written when staff keep the original dates: the rule versions they reviewed
REVIEWED_VERSIONS_KEY = "reviewed_rule_versions"


# --- routing ----------------------------------------------------------------------------------


def route_targets() -> list[Organization]:
    """The organizations a platform request may be routed to: active, not the platform."""
    return list(
        Organization.objects.filter(status=Organization.Status.ACTIVE)
        .exclude(kind=Organization.Kind.PLATFORM)
        .order_by("name", "pk")
    )


def request_route(
    *,
    request: PrivacyRequest,
    to_organization: Organization,
    actor: User | None,
    note: str = "",
) -> PrivacyRequest:
    """Move a platform organization's request to `to_organization`'s queue; returns the copy.

    Refused (RequestActionRefused) unless the request belongs to the platform organization and
    is open, and the target is another active, non-platform organization whose rules set a
    deadline for the request type (code `to_organization` for a target problem). `note` is
    kept as an internal note on both sides. Call inside the platform's tenant context.
    """
    source = request.organization
    note = note.strip()
    if source.kind != Organization.Kind.PLATFORM:
        raise RequestActionRefused(
            _("Only requests sent to the k-12.cloud platform organization can be routed."),
            code="not_platform",
        )
    if (
        to_organization.pk == source.pk
        or to_organization.kind == Organization.Kind.PLATFORM
        or not to_organization.is_active
    ):
        raise RequestActionRefused(
            _("Choose an active school district or vendor to route the request to."),
            code="to_organization",
        )
    now = timezone.now()
    # both chains name the person who routed it (a service called outside a request too)
    named: AbstractContextManager[object] = (
        acting_as(actor_for_user(actor.pk)) if actor is not None else nullcontext()
    )
    with named, transaction.atomic():
        original = _locked(request)
        if original.closed_at is not None or Status(original.status) not in OPEN_STATUSES:
            raise RequestActionRefused(_("A closed request cannot be routed."), code="closed")
        values = {name: getattr(original, name) for name in _COPIED_FIELDS}  # decrypted here
        with tenant_context(to_organization):
            copy, duplicate_ids = _receive_copy(
                original=original, to_organization=to_organization, values=values, now=now
            )
            data: dict[str, Any] = {
                "from_organization": source.slug,
                "from_reference": original.reference,
                "channel": copy.channel,
                "request_type": copy.request_type,
            }
            if duplicate_ids:
                data["possible_duplicate_of"] = duplicate_ids
            _event(copy, "routed_in", actor, to_status=copy.status, data=data)
            if note:
                _internal_note(copy, actor, note)
            record(
                Action.REQUEST_ROUTED_IN,
                organization=to_organization,
                target=copy,
                changes={
                    "from_organization": source.slug,
                    "from_reference": original.reference,
                    "request_type": copy.request_type,
                    "channel": copy.channel,
                    "status": copy.status,
                    "binding_rule": copy.deadlines.get("binding_rule", ""),
                    "possible_duplicates": len(duplicate_ids),
                    "note_given": bool(note),
                },
            )
            # the target's privacy team hears of it in this transaction (privacy_requests.alerts)
            alert_request_routed_in(request=copy, from_organization=source)
        original.routed_to_organization = to_organization
        original.routed_to_reference = copy.reference
        original.routed_at = now
        if note:
            _internal_note(original, actor, note)
        _transition(
            original,
            Status.ROUTED,
            actor,
            action=Action.REQUEST_ROUTED_OUT,
            kind="routed_out",
            extra_fields=["routed_to_organization", "routed_to_reference", "routed_at"],
            data={"to_organization": to_organization.slug, "to_reference": copy.reference},
        )
        if original.requester_email:
            notice = RoutedNotice(
                address=original.requester_email,
                language=original.language,
                old_reference=original.reference,
                new_reference=copy.reference,
                organization_name=to_organization.name,
                received_on=original.received_at,
                # the organization that handles it now answers replies
                reply_to=requester_reply_to(to_organization),
            )
            _send_routed_email(source, original, notice)
    return copy


def _receive_copy(
    *,
    original: PrivacyRequest,
    to_organization: Organization,
    values: dict[str, Any],
    now: datetime,
) -> tuple[PrivacyRequest, list[int]]:
    try:
        _result, snapshot = organization_deadlines(
            organization=to_organization,
            request_type=original.request_type,
            received_at=original.received_at,
        )
    except DeadlineError:
        raise RequestActionRefused(
            _("None of %(organization)s's deadline rules covers this type of request.")
            % {"organization": to_organization.name},
            code="to_organization",
        ) from None
    copy = PrivacyRequest(
        organization=to_organization,
        **values,
        status=Status.AWAITING_VERIFICATION if original.email_confirmed_at else Status.RECEIVED,
        deadlines=snapshot.to_json_dict(),
        acknowledge_by=snapshot.acknowledge_by,
        respond_by=snapshot.respond_by,
        routed_from_organization=original.organization,
        routed_from_reference=original.reference,
        routed_at=now,
    )
    copy.next_due_on = next_due_on(copy)
    return copy, request_insert(copy)


def _internal_note(request: PrivacyRequest, actor: User | None, body: str) -> None:
    RequestMessage.objects.create(
        organization=request.organization,
        request=request,
        direction=RequestMessage.Direction.INTERNAL,
        author=actor,
        body=body,
    )


@dataclass(frozen=True)
class RoutedNotice:
    address: str
    language: str
    old_reference: str
    new_reference: str
    organization_name: str
    received_on: datetime
    reply_to: str = ""


def _send_routed_email(
    organization: Organization, request: PrivacyRequest, notice: RoutedNotice
) -> None:
    """Tell the requester which organization handles their request now, through the outbox
    of the organization they wrote to (in the routing transaction, sent after it commits)."""
    with translation.override(notice.language or None):
        # the subject names the reference only: no personal data in mail headers
        subject = _("Your privacy request %(reference)s") % {"reference": notice.old_reference}
    email_enqueue(
        organization=organization,
        to=notice.address,
        template="privacy_requests/routing/email/routed",
        subject=subject,
        context={"notice": notice},
        target=request,
        language=notice.language or None,
        reply_to=notice.reply_to,
    )


# --- stale deadline snapshots -----------------------------------------------------------------


def _versions_snapshot(request_type: str, versions: Mapping[str, int]) -> DeadlineSnapshot:
    """A snapshot carrying only what the staleness check reads (the type and rule versions)."""
    return DeadlineSnapshot(
        request_type=request_type,
        received_on=date.min,
        acknowledge_by=None,
        respond_by=None,
        respond_by_extended=None,
        extension_notice_by=None,
        binding_rule="",
        rule_versions=versions,
    )


def deadline_snapshots_flag_stale(
    *, organization: Organization, cause: str, book: RuleBook | None = None
) -> int:
    """Flag the organization's open requests whose deadline snapshot no longer matches its
    rules (`deadline_snapshot_stale_since` = now); returns how many were flagged.

    Set-based: one read of the distinct (type, rule versions) pairs among open, unflagged
    requests, and one UPDATE per stale pair. Requests whose dates staff kept after a review are
    compared with the versions they reviewed. Writes REQUEST_DEADLINES_FLAGGED (a count) when
    any request was flagged. Call inside the organization's tenant context; idempotent.
    """
    book = book or jurisdiction_rule_book()
    candidates = PrivacyRequest.objects.for_organization(organization).filter(
        closed_at__isnull=True, deadline_snapshot_stale_since__isnull=True
    )
    pairs = candidates.values_list(
        "request_type", "deadlines__rule_versions", f"deadlines__{REVIEWED_VERSIONS_KEY}"
    ).distinct()
    now = timezone.now()
    flagged = 0
    with transaction.atomic():
        for request_type, versions, reviewed in list(pairs):
            if versions is None:
                continue  # no snapshot (never computed): nothing to compare
            compared = reviewed if reviewed is not None else versions
            snapshot = _versions_snapshot(request_type, compared)
            if not deadline_snapshot_is_stale(snapshot, organization=organization, book=book):
                continue
            rows = candidates.filter(request_type=request_type, deadlines__rule_versions=versions)
            if reviewed is None:
                rows = rows.filter(**{f"deadlines__{REVIEWED_VERSIONS_KEY}__isnull": True})
            else:
                rows = rows.filter(**{f"deadlines__{REVIEWED_VERSIONS_KEY}": reviewed})
            flagged += rows.update(deadline_snapshot_stale_since=now, updated_at=now)
        if flagged:
            record(
                Action.REQUEST_DEADLINES_FLAGGED,
                organization=organization,
                changes={"requests_flagged": flagged, "cause": cause},
            )
    return flagged


@tenant_task(name="privacy_requests.flag_stale_deadline_snapshots")
def flag_stale_deadline_snapshots(organization_id: int, cause: str) -> int:
    """One organization's share of a jurisdiction rule edit (runs in its tenant context)."""
    organization = Organization.objects.get(pk=organization_id)
    return deadline_snapshots_flag_stale(organization=organization, cause=cause)


def deadline_snapshots_flag_stale_everywhere(*, cause: str) -> int:
    """After ops edit the platform's rules table: one task per organization, after commit.

    Organizations are not tenant-owned, so listing their ids needs no all-tenants context;
    each task flags its organization's requests inside its own tenant context. Returns the
    number of tasks that will be enqueued.
    """
    organization_ids = list(
        Organization.objects.filter(status=Organization.Status.ACTIVE).values_list("pk", flat=True)
    )

    def enqueue() -> None:
        for organization_id in organization_ids:
            flag_stale_deadline_snapshots.delay(organization_id, cause)

    transaction.on_commit(enqueue)
    return len(organization_ids)


@dataclass(frozen=True)
class DeadlineReview:
    """The stored dates of a flagged request beside what the rules give now."""

    stale_since: datetime
    changed_rules: list[str]
    old: DeadlineSnapshot
    new: DeadlineSnapshot | None  # None: the rules now set no deadline for the type
    error: str = ""
    # contract rule engine id -> its name, for the contract rules named here
    contract_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def changed_rule_names(self) -> list[str]:
        """The changed rules by name, for people (`changed_rules` holds the ids)."""
        return [rule_name(rule_id, self.contract_names) for rule_id in self.changed_rules]

    @property
    def rows(self) -> list[tuple[str, object, object]]:
        def now(name: str) -> object:
            return None if self.new is None else getattr(self.new, name)

        return [
            (_("Acknowledge by"), self.old.acknowledge_by, now("acknowledge_by")),
            (_("Respond by"), self.old.respond_by, now("respond_by")),
            (
                _("An extension would give"),
                self.old.respond_by_extended,
                now("respond_by_extended"),
            ),
            (
                _("Binding rule"),
                rule_name(self.old.binding_rule, self.contract_names),
                None if self.new is None else rule_name(self.new.binding_rule, self.contract_names),
            ),
        ]


def request_deadline_review(
    *, organization: Organization, request: PrivacyRequest
) -> DeadlineReview | None:
    """For a flagged request, its stored dates and the recomputed ones; None when not flagged."""
    if request.deadline_snapshot_stale_since is None or not request.deadlines:
        return None
    old = DeadlineSnapshot.from_json_dict(request.deadlines)
    book = jurisdiction_rule_book()
    compared = request.deadlines.get(REVIEWED_VERSIONS_KEY) or old.rule_versions
    changed = deadline_snapshot_is_stale(
        _versions_snapshot(old.request_type, compared), organization=organization, book=book
    )
    try:
        _result, new = organization_deadlines(
            organization=organization,
            request_type=request.request_type,
            received_at=request.received_at,
            book=book,
        )
    except DeadlineError as exc:
        new, error = None, str(exc)
    else:
        error = ""
    named = {*changed, old.binding_rule, *([new.binding_rule] if new else [])}
    contract_names = (
        {
            c.engine_id: c.name
            for c in organization_contract_rules(organization=organization)
            if c.engine_id in named
        }
        if any(r.startswith(CONTRACT_RULE_PREFIX) for r in named)
        else {}
    )
    return DeadlineReview(
        request.deadline_snapshot_stale_since, changed, old, new, error, contract_names
    )


class DeadlineDecision:
    APPLY = "apply"
    KEEP = "keep"
    CHOICES = (APPLY, KEEP)


def request_deadlines_review(
    *, request: PrivacyRequest, actor: User | None, decision: str
) -> PrivacyRequest:
    """Staff decide on a flagged request's dates: `apply` the dates the rules give now, or
    `keep` the originals. Either clears the flag, writes a timeline event and one audit event.

    Applying replaces the snapshot and the acknowledge and respond dates; an extension already
    granted moves to the new extended date when the rules still allow one, else stays.
    Keeping records the rule versions reviewed, so the same change does not flag it again.
    """
    if decision not in DeadlineDecision.CHOICES:
        raise RequestActionRefused(_("Choose whether to apply or keep the dates."), code="decision")
    with transaction.atomic():
        request = _locked(request)
        if request.deadline_snapshot_stale_since is None:
            raise RequestActionRefused(
                _("This request's dates are not flagged for review."), code="not_flagged"
            )
        if request.closed_at is not None:
            raise RequestActionRefused(_("A closed request's dates are kept."), code="closed")
        organization = request.organization
        book = jurisdiction_rule_book()
        try:
            _result, new = organization_deadlines(
                organization=organization,
                request_type=request.request_type,
                received_at=request.received_at,
                book=book,
            )
        except DeadlineError:
            if decision == DeadlineDecision.APPLY:
                raise RequestActionRefused(
                    _("The rules now set no deadline for this type of request: keep the dates."),
                    code="no_deadline",
                ) from None
            new = None
        fields = ["deadlines", "deadline_snapshot_stale_since"]
        changed: list[str] = []
        if decision == DeadlineDecision.APPLY:
            assert new is not None
            before = {
                "acknowledge_by": request.acknowledge_by,
                "respond_by": request.respond_by,
                "extended_respond_by": request.extended_respond_by,
            }
            request.deadlines = new.to_json_dict()
            request.acknowledge_by = new.acknowledge_by
            request.respond_by = new.respond_by
            if request.extended_at is not None and new.respond_by_extended is not None:
                request.extended_respond_by = new.respond_by_extended
            changed = [name for name, value in before.items() if getattr(request, name) != value]
            request.next_due_on = next_due_on(request)
            fields += ["acknowledge_by", "respond_by", "extended_respond_by", "next_due_on"]
        else:
            versions = (
                new.rule_versions
                if new is not None
                else dict(request.deadlines.get("rule_versions", {}))
            )
            request.deadlines = {**request.deadlines, REVIEWED_VERSIONS_KEY: dict(versions)}
        request.deadline_snapshot_stale_since = None
        request.save(update_fields=sorted({*fields, "updated_at"}))
        data = {
            "decision": decision,
            "changed": changed,
            "binding_rule": request.deadlines.get("binding_rule", ""),
        }
        _event(request, "deadlines_reviewed", actor, data=data)
        record(
            Action.REQUEST_DEADLINES_REVIEWED,
            organization=organization,
            target=request,
            changes={
                **data,
                **{name: _iso(getattr(request, name)) for name in changed},
            },
        )
    return request


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
