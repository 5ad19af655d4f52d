"""The one call point for audit events: `record()`.

Call it inside the transaction that makes the change, so the event and the change commit or
roll back together. `changes` says what changed, never the values of personal fields: pass
field names, roles, flags, counts, ids.

record() appends the event unsealed, with one statement and no lock: writers of one chain never
wait on each other. The sealer (audit.sealing, run by beat every 2 seconds)
gives committed events their place in their organization's hash chain (or the platform
chain) shortly after commit; `audit_verify` reports how long that took and fails when an
event stays unsealed past AUDIT_SEAL_BOUND_SECONDS. An event rolled back with its
transaction never reaches a chain, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db import connection, models
from django.utils import timezone

from accounts.models import Membership, Organization
from audit import chain
from audit.actions import Action
from audit.context import Actor, current_actor
from audit.models import AuditEvent
from k12cloud import tenancy
from k12cloud.middleware import request_id


def target_reference(target: models.Model | tuple[str, object] | None) -> tuple[str, str]:
    """(type, id) naming what an event is about: a model instance or a (label, id) pair.

    Also how notifications and outbox emails name what they are about, so a request's timeline
    finds its audit events and its emails by the same key.
    """
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    kind, identifier = target
    return kind, str(identifier)


# A member's own sign-in and second-factor events, recorded on the platform chain, are also
# copied onto the chain of every organization where the user is an active member, under the
# member_security action of the same name: an organization's auditor reads their members'
# sign-ins on the organization's own audit page, each chain stays self-contained (verifiable
# on its own, row-level security applies as to any organization event), and the copy names
# the platform event it repeats (`changes.platform_event_id`). Events about no known user
# (a failed sign-in for an unknown address) stay platform-only. docs/security-signin.md.
MEMBER_COPIES: dict[Action, Action] = {
    Action.SIGNED_IN: Action.MEMBER_SIGNED_IN,
    Action.SIGN_IN_FAILED: Action.MEMBER_SIGN_IN_FAILED,
    Action.LOCKED_OUT: Action.MEMBER_LOCKED_OUT,
    Action.MFA_ENROLLED: Action.MEMBER_MFA_ENROLLED,
    Action.MFA_PASSKEY_REGISTERED: Action.MEMBER_PASSKEY_REGISTERED,
    Action.MFA_REMOVED: Action.MEMBER_MFA_REMOVED,
    Action.MFA_RECOVERY_CODE_USED: Action.MEMBER_RECOVERY_CODE_USED,
}
USER_TARGET = "accounts.user"
# what a member_security copy repeats of the platform event (it has its own organization,
# action and changes)
_COPIED = tuple(
    name for name in chain.HASHED_FIELDS if name not in {"organization_id", "action", "changes"}
)


def record(
    action: Action,
    *,
    organization: Organization | int | None = None,
    target: models.Model | tuple[str, object] | None = None,
    changes: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Write one audit event in the current transaction.

    `organization` None makes a platform event. The actor defaults to the current request's
    user or API key, or the system actor a task declared (audit.context).

    A platform event of an action in MEMBER_COPIES about a user (the target) is also copied,
    in the same transaction, onto the chain of each active organization where that user is an
    active member; the platform event is returned.
    """
    if not isinstance(action, Action):
        raise TypeError(f"{action!r} is not an audit Action: add it to audit.actions.")
    summary = dict(changes or {})
    summary_json = json.dumps(summary)  # fails here, not at commit, on values it cannot store
    who = actor or current_actor()
    target_type, target_id = target_reference(target)
    organization_id = organization if isinstance(organization, int | None) else organization.pk
    event = AuditEvent(
        organization_id=organization_id,
        actor_kind=who.kind,
        actor_user_id=who.user_id,
        actor_api_key_id=who.api_key_id,
        actor_label=who.label,
        ip_address=who.ip_address,
        user_agent=who.user_agent,
        action=action.value,
        target_type=target_type,
        target_id=target_id,
        changes=summary,
        request_id=request_id.get() or "",
        occurred_at=timezone.now(),
        sequence=None,
        previous_hash="",
        hash="",
    )
    _append(event, summary_json)
    if organization_id is None and action in MEMBER_COPIES and target_type == USER_TARGET:
        copy_to = _member_organizations(int(target_id))
    else:
        copy_to = []
    for copy_organization_id in copy_to:
        copy = AuditEvent(
            **{name: getattr(event, name) for name in _COPIED},
            organization_id=copy_organization_id,
            action=MEMBER_COPIES[action].value,
            changes={**summary, "platform_event_id": event.pk},
            sequence=None,
            previous_hash="",
            hash="",
        )
        _append(copy, json.dumps(copy.changes))
    return event


def _member_organizations(user_id: int) -> list[int]:
    """The ids of the active organizations where the user is an active member."""
    with tenancy.unscoped_all_tenants(
        reason="copy a member's sign-in event to their organizations"
    ):
        return list(
            Membership.objects.filter(
                user_id=user_id,
                is_active=True,
                organization__status=Organization.Status.ACTIVE,
            )
            .order_by("organization_id")
            .values_list("organization_id", flat=True)
        )


# What record() writes: the hashed fields, in the order audit_event_append() (a PL/pgSQL
# function, migration audit 0007) takes them; it inserts the event unsealed, with no position
# and empty hashes (the sealer fills them after commit). PL/pgSQL plans its INSERT once per
# connection: sent as a plain INSERT, it was parsed, rewritten with the row-level security
# policy and planned on every call (about 70 µs of server CPU per event, benchmarks/README.md).
_APPENDED = chain.HASHED_FIELDS
_APPEND_CALL = (
    f"audit_event_append({', '.join('%s::jsonb' if c == 'changes' else '%s' for c in _APPENDED)})"
)
_CHANGES = _APPENDED.index("changes")
_IP_ADDRESS = _APPENDED.index("ip_address")


def _append(event: AuditEvent, changes_json: str) -> None:
    """Insert `event`, unsealed, into its chain (its organization's, or the platform's).

    One statement written out rather than Model.save(): record() runs in every state change,
    and this path needs none of save()'s signals, field preparation or SQL compilation per
    call. `changes_json` is event.changes as JSON text.
    """
    values = [getattr(event, name) for name in _APPENDED]
    values[_CHANGES] = changes_json
    values[_IP_ADDRESS] = event.ip_address or None  # as the ORM writes it
    # Row-level security shows an organization's events only in its context, and platform
    # events only to ops; the INSERT's RETURNING needs the new row to be visible. Outside any
    # transaction the event is its own transaction: one round trip that sets the context itself.
    (event.pk,) = tenancy.select_acting_for(
        event.organization_id,
        _APPEND_CALL,
        values,
        all_tenants_reason="write a platform audit event",
    )
    event._state.adding = False
    event._state.db = connection.alias
