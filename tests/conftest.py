"""Fixtures for the cross-cutting tests: two districts and their people."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from k12cloud.tenancy import tenant_context


@dataclass
class Tenant:
    organization: Organization
    admin: User
    viewer: User

    def membership_of(self, user: User) -> Membership:
        with tenant_context(self.organization):
            return Membership.objects.get(user=user)


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    org = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    return Tenant(
        org,
        member(org, Role.ORG_ADMIN, email="admin@a.example"),
        member(org, Role.VIEWER, email="viewer@a.example"),
    )


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    org = OrganizationFactory(slug="hudson-csd", name="Hudson CSD", time_zone="America/New_York")
    return Tenant(
        org,
        member(org, Role.ORG_ADMIN, email="admin@b.example"),
        member(org, Role.VIEWER, email="viewer@b.example"),
    )


@pytest.fixture
def ops_user(db: None) -> User:
    return UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True)


def signed_in(user: User | None, *, second_factor: bool = True) -> Client:
    """A client signed in as `user` (with a verified second factor unless told otherwise)."""
    client = Client()
    if user is not None:
        sign_in(client, user, second_factor=second_factor)
    return client


@pytest.fixture(params=[True, False], ids=["app-scoping", "rls-only"])
def scoping(request: pytest.FixtureRequest, settings: object) -> bool:
    """Runs a test twice: with application-level scoping, then with RLS alone."""
    settings.TENANCY_APPLICATION_SCOPING = request.param  # type: ignore[attr-defined]
    return bool(request.param)
