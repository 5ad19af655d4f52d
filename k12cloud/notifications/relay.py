"""The outbox relay: send what a crashed process committed but never enqueued.

Every minute (beat) it lists pending rows older than NOTIFICATIONS_RELAY_AFTER_SECONDS whose
backoff has passed: the only all-tenants read, of ids alone. Each row is then sent by the send
task under its own organization's tenant context. Sending is idempotent (sending.py), so a row
whose first task is merely slow is not sent twice. Deferred notices (`notify_after_commit`)
left undelivered as long are handed to the fan-out task the same way (idempotent too).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from k12cloud.notifications.models import DeferredNotice, OutboundEmail
from k12cloud.tenancy import unscoped_all_tenants

RELAY_BATCH = 1000
FAN_OUT_TASK = "notifications.fan_out_notice"  # k12cloud.notifications.fan_out


def outbox_pending_ids(*, limit: int = RELAY_BATCH) -> list[tuple[int, int]]:
    """(organization id, email id) of rows the relay should send, oldest first."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_RELAY_AFTER_SECONDS)
    with unscoped_all_tenants(reason="outbox relay: list pending email ids"):
        return list(
            OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING, created_at__lt=cutoff)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("created_at", "pk")
            .values_list("organization_id", "pk")[:limit]
        )


def deferred_notices_pending_ids(*, limit: int = RELAY_BATCH) -> list[tuple[int, int]]:
    """(organization id, notice id) of deferred notices the relay should fan out, oldest
    first."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTIFICATIONS_RELAY_AFTER_SECONDS)
    with unscoped_all_tenants(reason="outbox relay: list undelivered deferred notice ids"):
        return list(
            DeferredNotice.objects.filter(delivered_at__isnull=True, created_at__lt=cutoff)
            .order_by("created_at", "pk")
            .values_list("organization_id", "pk")[:limit]
        )


def outbox_relay() -> int:
    """Enqueue a send for each pending row and a fan-out for each undelivered deferred
    notice; returns how many."""
    from k12cloud.notifications.tasks import send_outbound_email

    pending = outbox_pending_ids()
    for organization_id, email_id in pending:
        send_outbound_email.delay(organization_id, email_id)
    notices = deferred_notices_pending_ids()
    for organization_id, notice_id in notices:
        # by name: fan_out.py imports services, which enqueues from tasks, which imports this
        send_outbound_email.app.send_task(FAN_OUT_TASK, args=[organization_id, notice_id])
    return len(pending) + len(notices)
