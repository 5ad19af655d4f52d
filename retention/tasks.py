"""The daily retention sweep (beat: k12cloud/celery.py) and its per-organization tasks.

The per-organization tasks are plain tasks, not `tenant_task`: the engine and the aging rules
commit chunk by chunk, each in its own tenant context, which one enclosing transaction would
defeat.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from k12cloud.tasks import fan_out, periodic_task
from retention.aging import organization_age_out
from retention.sweep import organization_retention_run, terminated_organizations


@shared_task(name="retention.run_for_organization", acks_late=True, time_limit=6 * 3600)
def run_for_organization(organization_id: int) -> str:
    return organization_retention_run(organization_id=organization_id)


@shared_task(name="retention.age_out_organization", acks_late=True, time_limit=6 * 3600)
def age_out_organization(organization_id: int) -> int:
    """De-identify what is due by age in one active organization (retention.aging)."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    return organization_age_out(organization=organization).total


@periodic_task(name="retention.sweep")
def sweep() -> int:
    """Enqueue one run per terminated organization (each decides whether it is due or held)
    and one aging run per active organization; returns how many tasks it enqueued."""
    organizations = terminated_organizations()
    for organization in organizations:
        run_for_organization.delay(organization.pk)
    return len(organizations) + fan_out(age_out_organization)
