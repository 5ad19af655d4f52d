"""The daily retention sweep (beat: k12cloud/celery.py) and its per-organization task.

The per-organization task is a plain task, not `tenant_task`: the engine commits chunk by
chunk, each in its own tenant context, which one enclosing transaction would defeat.
"""

from __future__ import annotations

from celery import shared_task

from k12cloud.tasks import periodic_task
from retention.sweep import organization_retention_run, terminated_organizations


@shared_task(name="retention.run_for_organization", acks_late=True, time_limit=6 * 3600)
def run_for_organization(organization_id: int) -> str:
    return organization_retention_run(organization_id=organization_id)


@periodic_task(name="retention.sweep")
def sweep() -> int:
    """Enqueue one run per terminated organization; each decides whether it is due or held."""
    organizations = terminated_organizations()
    for organization in organizations:
        run_for_organization.delay(organization.pk)
    return len(organizations)
