"""Fanning out deferred notices (`deferred.notify_after_commit`): the `notify()` call each
describes, once (docs/notifications.md, "After commit"), and the Celery tasks: one that fans out
every pending notice of an organization (woken after commit) and one for a single notice (the
relay's).

The task is registered through CELERY_IMPORTS rather than `tasks.py`: this module needs
`services.notify`, and `services` enqueues from `tasks`. The relay enqueues it by name.
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from accounts.models import User
from k12cloud.notifications.models import DeferredNotice
from k12cloud.notifications.sending import RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS
from k12cloud.notifications.services import notify
from k12cloud.tenancy import tenant_context

FAN_OUT_TASK = "notifications.fan_out_notice"
FAN_OUT_PENDING_TASK = "notifications.fan_out_pending"
# How long a wake-up stays taken if its task never starts (a lost message): commits in that
# window publish nothing, and the next commit after it (or the relay) wakes the fan-out again.
WAKE_SECONDS = 10


def fan_out_wake_key(organization_id: int) -> str:
    """The cache key that is set while a fan-out task of the organization waits to start."""
    return f"notifications:fan-out-wake:{organization_id}"


# pending notices listed per read by `deferred_notices_deliver_pending`
PENDING_BATCH = 200


def deferred_notice_deliver(*, notice_id: int) -> int:
    """Fan out one deferred notice if it is still pending: `notify()` with what the row holds,
    and the row marked delivered, in one transaction; returns how many notices were written.

    Call inside the row's tenant context. The row is locked (SKIP LOCKED) for the fan-out, so
    two workers never both run it; a delivered or locked row is left alone (0). Recipients who
    are gone (user deleted) are skipped; the dedupe keys make a repeated fan-out write nothing.
    """
    with transaction.atomic():
        row = (
            DeferredNotice.objects.select_for_update(skip_locked=True)
            .filter(pk=notice_id, delivered_at__isnull=True)
            .first()
        )
        if row is None:
            return 0
        users = User.objects.in_bulk(row.recipient_ids)
        created = notify(
            organization=row.organization,
            recipients=[users[pk] for pk in row.recipient_ids if pk in users],
            kind=row.kind,
            title=row.title,
            url=row.url,
            target=(row.target_type, row.target_id) if row.target_type else None,
            email_template=row.email_template or None,
            email_context=row.email_context,
            dedupe_key=row.dedupe_key,
            urgent=row.urgent,
        )
        row.delivered_at = timezone.now()
        row.save(update_fields=["delivered_at"])
    return len(created)


def deferred_notices_deliver_pending() -> int:
    """Fan out every pending deferred notice of the current organization, oldest first;
    returns how many notices were written.

    Call inside the organization's tenant context. Rows are read in batches after the last id
    seen, so a row another worker holds (skipped) is not read again; rows committed while this
    runs are read too, if their id comes later.
    """
    written, after = 0, 0
    while True:
        ids = list(
            DeferredNotice.objects.filter(delivered_at__isnull=True, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:PENDING_BATCH]
        )
        for notice_id in ids:
            written += deferred_notice_deliver(notice_id=notice_id)
        if len(ids) < PENDING_BATCH:
            return written
        after = ids[-1]


@shared_task(
    name=FAN_OUT_PENDING_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=240,
    time_limit=300,
)
def fan_out_pending(organization_id: int) -> int:
    # First: a notice committed from here on finds the wake-up free and publishes another task.
    # One committed before found it taken and published nothing; the list below includes it.
    cache.delete(fan_out_wake_key(organization_id))
    with tenant_context(organization_id):
        return deferred_notices_deliver_pending()


@shared_task(
    name=FAN_OUT_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def fan_out_notice(organization_id: int, notice_id: int) -> int:
    with tenant_context(organization_id):
        return deferred_notice_deliver(notice_id=notice_id)
