"""`notify_after_commit()`: a `notify()` call made by a worker after the caller's commit.

The caller's transaction writes one `DeferredNotice` row (instead of the notices, the
preferences read and the emails rendered and encrypted); after commit, the organization's
fan-out is woken (`notifications.fan_out_pending`, at most one waiting per organization), which
makes the call (`fan_out.deferred_notice_deliver`) for every row still pending; the outbox
relay enqueues it for rows whose wake-up was lost. docs/notifications.md, "After commit".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model

from accounts.models import Organization
from audit.services import target_reference
from k12cloud.models import tenant_row_insert
from k12cloud.notifications.models import DeferredNotice
from k12cloud.tenancy import tenant_context

logger = logging.getLogger(__name__)


def notify_after_commit(
    *,
    organization: Organization,
    recipient_ids: Iterable[int],
    kind: str,
    title: str,
    url: str = "",
    target: Model | tuple[str, object] | None = None,
    email_template: str | None = None,
    email_context: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
    urgent: bool = False,
) -> DeferredNotice | None:
    """`notify()` with the same arguments, made after commit: one row (`DeferredNotice`) in the
    caller's transaction instead of the notices, the preferences read and the emails rendered
    here (docs/notifications.md, "After commit").

    The recipients (user ids) are decided now, by the caller; the fan-out
    (`deferred_notice_deliver`) runs in a worker (or, with NOTIFICATIONS_DELIVERY "in_process",
    in this process) once the transaction commits, and the relay runs it if that enqueue is
    lost. `email_context` must be JSON (the fan-out adds `recipient` and `url` as `notify()`
    does). Needs a `dedupe_key`: the fan-out may run twice (a worker killed before its commit),
    and the key makes that safe. Returns None when there is nobody to tell.
    """
    if not dedupe_key:
        raise ValueError("notify_after_commit needs a dedupe_key (its fan-out may be repeated)")
    recipient_ids = list(dict.fromkeys(recipient_ids))
    if not recipient_ids:
        return None
    target_type, target_id = target_reference(target)
    notice = DeferredNotice(
        organization=organization,
        recipient_ids=recipient_ids,
        kind=kind,
        title=title,
        url=url,
        target_type=target_type,
        target_id=target_id,
        email_template=email_template or "",
        email_context=dict(email_context or {}),
        dedupe_key=dedupe_key,
        urgent=urgent,
    )
    tenant_row_insert(notice)  # DeferredNotice.objects.create(), without the ORM's INSERT path
    organization_id, notice_id = organization.pk, notice.pk
    transaction.on_commit(lambda: _enqueue_fan_out(organization_id, notice_id))
    return notice


def _enqueue_fan_out(organization_id: int, notice_id: int) -> None:
    """After commit: wake the organization's fan-out (or, in tests, fan the notice out here).

    The wake-up is coalesced: a `fan_out_pending` task is published only if none of the
    organization's is already waiting to start (`cache.add` on `fan_out_wake_key`, a Redis
    SET NX, held at most `WAKE_SECONDS`). A waiting task fans this notice out too: it clears
    the key before it lists the pending rows, and this row committed before the key was found
    taken. Publishing costs more than the rest of an intake's alert, and a busy intake commits
    many notices per task.
    """
    if settings.NOTIFICATIONS_DELIVERY == "in_process":
        try:
            from k12cloud.notifications.fan_out import deferred_notice_deliver

            with tenant_context(organization_id):
                deferred_notice_deliver(notice_id=notice_id)
        except Exception as error:  # the row stays pending: the relay fans it out later
            logger.warning(
                "deferred notice %s: in-process fan-out failed (%s); the relay will retry",
                notice_id,
                type(error).__name__,
            )
        return
    from k12cloud.notifications.fan_out import WAKE_SECONDS, fan_out_pending, fan_out_wake_key

    key = fan_out_wake_key(organization_id)
    try:
        if not cache.add(key, notice_id, timeout=WAKE_SECONDS):
            return  # a task that has not started yet will list this row
    except Exception:  # Redis is unreachable: publish anyway (the broker may answer)
        logger.warning("deferred notice %s: could not take the fan-out wake-up", notice_id)
    try:
        fan_out_pending.delay(organization_id)
    except Exception:  # the broker is down: the relay fans it out later
        logger.warning("deferred notice %s: could not enqueue; the relay will", notice_id)
        # let the next commit try again rather than wait for the key to expire
        with contextlib.suppress(Exception):
            cache.delete(key)
