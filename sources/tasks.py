"""The daily expiry of SIS imports past their retention period (beat: k12cloud/celery.py)."""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tasks import fan_out, periodic_task, tenant_task
from sources.retention import sis_imports_expire


@tenant_task(name="sources.expire_imports_for_organization", acks_late=True)
def expire_imports_for_organization(organization_id: int) -> int:
    return sis_imports_expire(organization=Organization.objects.get(pk=organization_id))


@periodic_task(name="sources.expire_imports")
def expire_imports() -> int:
    return fan_out(expire_imports_for_organization)
