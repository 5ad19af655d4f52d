"""Celery tasks of deadline tracking: three hourly sweeps (k12cloud/celery.py's beat schedule),
each fanning out one tenant task per active organization, which calls one idempotent service.

One organization's failure stays its own: its task fails and retries alone while the others
run. The fan-out lists organization ids only (Organization is not tenant-owned), so it needs
no all-tenants context (k12cloud.tasks.fan_out); each sweep's runs are recorded
(k12cloud.tasks.periodic_task).
"""

from __future__ import annotations

from accounts.models import Organization
from audit.context import Actor, acting_as
from k12cloud.tasks import fan_out, periodic_task, tenant_task
from privacy_requests.tracking.digest import digest_send_due
from privacy_requests.tracking.services import (
    deadline_reminders_send,
    unconfirmed_requests_process,
)

_RETRY = {
    "autoretry_for": (ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@tenant_task(name="privacy_requests.tracking.deadlines_for_organization", **_RETRY)
def deadlines_for_organization(organization_id: int) -> dict[str, int]:
    organization = Organization.objects.get(pk=organization_id)
    with acting_as(Actor.system("deadline tracking")):
        result = deadline_reminders_send(organization=organization)
    return {"reminders": result.reminders, "escalations": result.escalations}


@tenant_task(name="privacy_requests.tracking.digest_for_organization", **_RETRY)
def digest_for_organization(organization_id: int) -> int:
    organization = Organization.objects.get(pk=organization_id)
    with acting_as(Actor.system("morning digest")):
        return digest_send_due(organization=organization)


@tenant_task(name="privacy_requests.tracking.unconfirmed_for_organization", **_RETRY)
def unconfirmed_for_organization(organization_id: int) -> dict[str, int]:
    organization = Organization.objects.get(pk=organization_id)
    with acting_as(Actor.system("unconfirmed requests sweep")):
        result = unconfirmed_requests_process(organization=organization)
    return {"reminded": result.reminded, "closed": result.closed}


@periodic_task(name="privacy_requests.tracking.sweep_deadlines")
def sweep_deadlines() -> int:
    return fan_out(deadlines_for_organization)


@periodic_task(name="privacy_requests.tracking.sweep_digests")
def sweep_digests() -> int:
    return fan_out(digest_for_organization)


@periodic_task(name="privacy_requests.tracking.sweep_unconfirmed")
def sweep_unconfirmed() -> int:
    return fan_out(unconfirmed_for_organization)
