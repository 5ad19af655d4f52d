"""Billing's periodic work (k12cloud.celery beat): fan out one task per organization.

The sweeps list organization ids only (Organization is not tenant-owned) and enqueue a tenant
task each, so one tenant's failure stays its own.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from audit.context import Actor, acting_as
from k12cloud.tasks import tenant_task


def _active_organization_ids() -> list[int]:
    return list(
        Organization.objects.filter(status=Organization.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task(name="billing.dunning_sweep")
def dunning_sweep() -> int:
    ids = _active_organization_ids()
    for organization_id in ids:
        organization_dunning_check.delay(organization_id)
    return len(ids)


@tenant_task(name="billing.organization_dunning_check")
def organization_dunning_check(organization_id: int) -> bool:
    from billing.services import billing_dunning_check

    organization = Organization.objects.get(pk=organization_id)
    with acting_as(Actor.system("billing.organization_dunning_check")):
        outcome = billing_dunning_check(organization=organization)
    return outcome.alerted or outcome.termination_proposed


@shared_task(name="billing.retry_stripe_events_sweep")
def retry_stripe_events_sweep() -> int:
    ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for organization_id in ids:
        retry_stripe_events.delay(organization_id)
    return len(ids)


@tenant_task(name="billing.retry_stripe_events")
def retry_stripe_events(organization_id: int) -> int:
    """Process again the organization's stored webhook events whose processing failed."""
    from billing.webhooks import events_retry

    return events_retry(organization=Organization.objects.get(pk=organization_id))
