"""Celery tasks run inside their organization's tenant context, and only there."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from k12cloud import tenancy
from k12cloud.tasks import tenant_task
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@tenant_task(name="tests.count_memberships")
def count_memberships(organization_id: int) -> dict[str, int]:
    return {
        "context": tenancy.current_organization_id(),
        "memberships": Membership.objects.count(),
    }


def test_a_tenant_task_runs_in_its_organization_context(tenant_a: Tenant, tenant_b: Tenant) -> None:
    result = count_memberships.apply(args=[tenant_b.organization.pk]).get()
    assert result == {"context": tenant_b.organization.pk, "memberships": 2}
    # and the context does not leak out of the task
    assert tenancy.current().organization_id is None


def test_a_tenant_task_for_a_missing_organization_is_skipped(tenant_a: Tenant) -> None:
    assert count_memberships.apply(args=[999_999]).get() is None


def test_the_body_cannot_run_without_an_organization(tenant_a: Tenant) -> None:
    with pytest.raises(TypeError):
        count_memberships.apply(args=[], throw=True).get()
