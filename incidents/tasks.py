"""Celery tasks of incidents: sending a notice's batches, and the alert sweep (beat)."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from accounts.models import Organization
from incidents.alerts import incident_legs_sweep
from incidents.sending import notice_send_one_batch
from k12cloud.tasks import fan_out, periodic_task, tenant_task


@shared_task(
    bind=True,
    name="incidents.send_notice_batches",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=8,
)
def send_notice_batches(self: Any, organization_id: int, notice_id: int) -> int:
    """One batch, then the next one's task (incidents.sending): short tasks, each resumable.

    Not @tenant_task: the batch commits in its own tenant context before the next is queued."""
    recorded = notice_send_one_batch(organization_id=organization_id, notice_id=notice_id)
    if recorded:
        # the same queue as this batch (a test's own worker queue, else the default)
        queue = (self.request.delivery_info or {}).get("routing_key")
        self.apply_async(args=[organization_id, notice_id], queue=queue)
    return recorded


@tenant_task(name="incidents.sweep_organization", acks_late=True, time_limit=600)
def sweep_organization(organization_id: int) -> dict[str, int]:
    organization = Organization.objects.get(pk=organization_id)
    result = incident_legs_sweep(organization=organization)
    # a notice left sending (its task lost with the broker): resume it after this commit
    from django.db import transaction

    from incidents.models import Notice

    for notice_id in (
        Notice.objects.for_organization(organization)
        .filter(status=Notice.Status.SENDING)
        .values_list("pk", flat=True)
    ):
        transaction.on_commit(partial(send_notice_batches.delay, organization_id, notice_id))
    return {"reminded": result.reminded, "escalated": result.escalated}


@periodic_task(name="incidents.sweep")
def sweep() -> int:
    """Leg reminders and escalations: one task per organization."""
    return fan_out(sweep_organization)
