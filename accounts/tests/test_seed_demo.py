from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import Membership, Organization, User
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, int, int, list[tuple[str, str, str]]]:
    with unscoped_all_tenants(reason="test: counting demo data"):
        roles = sorted(Membership.objects.values_list("organization__slug", "user__email", "role"))
        return Organization.objects.count(), User.objects.count(), len(roles), roles


def test_seed_demo_is_idempotent() -> None:
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    organizations, users, memberships, roles = first
    assert (organizations, users, memberships) == (4, 8, 7)
    assert ("brightpath", "privacy@brightpath.example", "privacy_officer") in roles
    assert ("lincoln-usd", "viewer@lincoln.example", "viewer") in roles
    assert ("hudson-csd", "admin@hudson.example", "org_admin") in roles
    ops = User.objects.get(email="ops@k12.cloud")
    assert ops.is_staff and not ops.is_superuser
    assert ops.check_password("k12cloud-demo")
