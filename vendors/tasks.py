"""The hourly vendor task sweep (beat: k12cloud/celery.py): one task per organization."""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tasks import fan_out, periodic_task, tenant_task
from vendors.reminders import vendor_tasks_sweep


@tenant_task(name="vendors.sweep_organization", acks_late=True, time_limit=600)
def sweep_organization(organization_id: int) -> dict[str, int]:
    organization = Organization.objects.get(pk=organization_id)
    result = vendor_tasks_sweep(organization=organization)
    return {"reminded": result.reminded, "escalated": result.escalated}


@periodic_task(name="vendors.sweep")
def sweep() -> int:
    """Reminders before vendors' due dates and escalations after: one task per organization."""
    return fan_out(sweep_organization)
