"""Beat tasks of the trust center (k12cloud/celery.py): the minute's health check, notices."""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tasks import fan_out, periodic_task, tenant_task
from trust.banners import platform_banners_refresh
from trust.health import health_check_record
from trust.notices import trust_notices_send


@periodic_task(name="trust.record_health", acks_late=False)
def record_health() -> bool:
    """Every minute: record the platform's health, and refresh the banners' cache entry."""
    check = health_check_record()
    platform_banners_refresh()
    return check.portal_up


@tenant_task(name="trust.send_notices_for", acks_late=True, time_limit=600)
def send_notices_for(organization_id: int) -> dict[str, int]:
    organization = Organization.objects.get(pk=organization_id)
    counts = trust_notices_send(organization=organization)
    return {"notices": counts.notices, "reminders": counts.reminders}


@periodic_task(name="trust.send_notices")
def send_notices() -> int:
    """Document and maintenance notices and reminders: one task per active organization."""
    return fan_out(send_notices_for)
