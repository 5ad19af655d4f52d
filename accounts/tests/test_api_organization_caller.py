"""`GET /api/v1/orgs/<slug>/`: the organization and who is calling (an integrator checks a new
key with it; the `api_baseline` benchmark measures the API's fixed cost with it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_keys import NewApiKey, api_key_create, api_key_revoke
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="ada@lincoln.example")


def make_key(org: Organization, admin: User, role: Role = Role.PRIVACY_STAFF) -> NewApiKey:
    return api_key_create(
        organization=org,
        user=admin,
        name="SIS sync",
        role=role,
        expires_at=NOW + timedelta(days=90),
    )


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def url(org: Organization) -> str:
    return reverse("accounts_api:organization_detail", kwargs={"org_slug": org.slug})


def test_a_key_sees_its_organization_and_its_own_prefix_role_and_expiry(
    org: Organization, admin: User
) -> None:
    created = make_key(org, admin, Role.VIEWER)
    response = api(created.token).get(url(org))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["slug"] == "lincoln-usd" and body["name"] == "Lincoln USD"
    assert body["caller"] == {
        "authenticated_by": "api_key",
        "role": "viewer",
        "key_prefix": created.key.prefix,
        "key_name": "SIS sync",
        "key_expires_at": "2026-06-02T18:00:00Z",
    }
    # the secret is never echoed. The token is k12_<hex prefix>_<secret>, and the secret is
    # url-safe base64, which may hold "_" itself: split after the prefix, not at the last "_"
    secret = created.token.split("_", 2)[2]
    assert len(secret) > 20
    assert secret not in response.content.decode()


def test_a_signed_in_member_sees_their_role_and_no_key(org: Organization) -> None:
    staff = member(org, Role.PRIVACY_STAFF, email="sam@lincoln.example")
    response = sign_in(Client(), staff).get(url(org))
    assert response.status_code == 200, response.content
    assert response.json()["caller"] == {
        "authenticated_by": "session",
        "role": "privacy_staff",
        "key_prefix": None,
        "key_name": None,
        "key_expires_at": None,
    }


def test_without_credentials_the_answer_is_403_and_names_no_organization(
    org: Organization,
) -> None:
    response = Client().get(url(org))
    assert response.status_code == 403
    assert "Lincoln" not in response.content.decode()


def test_a_revoked_key_is_refused_with_401(org: Organization, admin: User) -> None:
    created = make_key(org, admin)
    client = api(created.token)
    assert client.get(url(org)).status_code == 200
    api_key_revoke(organization=org, user=admin, key_id=created.key.pk)
    response = client.get(url(org))
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has been revoked."


def test_a_key_of_another_organization_gets_404(org: Organization, admin: User) -> None:
    other = OrganizationFactory(slug="hudson-csd", name="Hudson CSD")
    created = make_key(org, admin)
    response = api(created.token).get(url(other))
    assert response.status_code == 404
    assert "Hudson" not in response.content.decode()


# The request's user context (a savepoint carrying its settings; a real request sends BEGIN
# and then the settings instead); the key by its prefix with its organization, in an
# all-tenants escape hatch (savepoint with its settings, select, release); the tenant context
# (savepoint with its settings) and its release; the user context's release (a real request:
# COMMIT) and the restore of the test's settings after it. Nothing of the endpoint's own: the
# organization came with the key.
KEY_QUERIES = 8


def test_query_count_with_a_key_is_exact(org: Organization, admin: User) -> None:
    client = api(make_key(org, admin).token)
    assert client.get(url(org)).status_code == 200  # records last_used_at: not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(org))
    assert response.status_code == 200
    assert len(captured.captured_queries) == KEY_QUERIES, [
        q["sql"][:80] for q in captured.captured_queries
    ]
