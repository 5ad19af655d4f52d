"""Celery tasks of exports (thin: ids in, one service call)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from accounts.models import Organization
from exports import services
from k12cloud.tasks import active_organization_ids, periodic_task


# Not a tenant_task: that runs the whole body in one transaction, and the export commits its
# progress chunk by chunk (each chunk enters the organization's tenant context itself).
# An export may take longer than the default limits; a killed worker's message comes back
# (acks late) and the next attempt starts over.
@shared_task(name=services.RUN_TASK, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def run_export(organization_id: int, export_id: int) -> str:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return "gone"
    return services.export_run(organization=organization, export_id=export_id)


@periodic_task(name="exports.sweep")
def sweep_exports() -> dict[str, Any]:
    """Expired files deleted, stale runs restarted, in every organization (terminated ones too:
    their admins may export until de-identification)."""
    totals = {"expired": 0, "restarted": 0}
    ids = set(active_organization_ids()) | set(
        Organization.objects.filter(status=Organization.Status.TERMINATED).values_list(
            "pk", flat=True
        )
    )
    for organization in Organization.objects.filter(pk__in=ids).order_by("pk"):
        for name, count in services.exports_sweep(organization=organization).items():
            totals[name] += count
    return totals
