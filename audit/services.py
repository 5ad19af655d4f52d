"""The one call point for audit events: `record()`.

Call it inside the transaction that makes the change, so the event and the change commit or
roll back together. `changes` says what changed, never the values of personal fields: pass
field names, roles, flags, counts, ids.

Each event is appended to its organization's hash chain (or the platform chain) under a
per-chain lock held until the caller's transaction ends (audit.chain): keep transactions that
record events short, and record events of one chain per transaction where possible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import models

from accounts.models import Organization
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
    """
    if not isinstance(action, Action):
        raise TypeError(f"{action!r} is not an audit Action: add it to audit.actions.")
    summary = dict(changes or {})
    json.dumps(summary)  # fail here, not at commit, on values that cannot be stored
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
    )
    # Row-level security shows an organization's events only in its context, and platform
    # events only to ops; INSERT ... RETURNING needs the new row to be visible.
    context: AbstractContextManager[object]
    if organization_id is None:
        context = tenancy.unscoped_all_tenants(reason="write a platform audit event")
    elif tenancy.current().organization_id != organization_id:
        context = tenancy.tenant_context(organization_id)
    else:
        context = nullcontext()
    with context:
        sequence, previous_hash = chain.lock_head(organization_id)
        event.sequence, event.previous_hash = sequence + 1, previous_hash
        event.hash = chain.event_hash(vars(event))
        event.save(force_insert=True)
        chain.move_head(organization_id, event.sequence, event.hash)
    return event
