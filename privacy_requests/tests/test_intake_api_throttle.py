"""The API intake's rate per API key, and searching by requester email without a URL."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.tests.factories import received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

INTAKE = {
    "request_type": "access",
    "relationship": "parent",
    "requester_name": "Rosa Parent",
    "requester_email": "rosa@example.org",
}


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN)


def key_client(org: Organization, admin: User, role: Role = Role.PRIVACY_STAFF) -> Client:
    created = api_key_create(organization=org, user=admin, name="SIS", role=role, expires_at=None)
    return Client(headers={"Authorization": f"Bearer {created.token}"})


def intake_url(org: Organization) -> str:
    return reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, content_type="application/json")


def test_the_intake_is_throttled_per_api_key_with_retry_after(
    org: Organization, admin: User, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_API_RATE = "3/minute"
    first, second = key_client(org, admin), key_client(org, admin)
    statuses = [post(first, intake_url(org), INTAKE).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = post(first, intake_url(org), INTAKE)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    # another key of the same organization has its own allowance
    assert post(second, intake_url(org), INTAKE).status_code == 201
    # reads are not throttled by the intake's rate
    listed = first.get(reverse("accounts_api:request_list", kwargs={"org_slug": org.slug}))
    assert listed.status_code == 200
    with tenant_context(org):
        assert PrivacyRequest.objects.count() == 4  # nothing refused was recorded


def test_the_rate_is_per_signed_in_user_and_organization_too(
    org: Organization, admin: User, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_API_RATE = "1/minute"
    client = sign_in(Client(), admin)
    assert post(client, intake_url(org), INTAKE).status_code == 201
    assert post(client, intake_url(org), INTAKE).status_code == 429


def test_search_by_email_in_the_body(org: Organization, admin: User) -> None:
    mine = received_request(org, requester_email="pat@example.org", requester_name="Pat Parent")
    received_request(org, requester_email="other@example.org")
    client = key_client(org, admin)
    url = reverse("accounts_api:request_search", kwargs={"org_slug": org.slug})
    response = post(client, url, {"requester_email": "PAT@example.org", "page_size": 10})
    assert response.status_code == 200
    body = response.json()
    assert [r["reference"] for r in body["results"]] == [mine.reference]
    assert body["results"][0]["personal"]["requester_name"] == "Pat Parent"
    assert body["next_cursor"] is None
    bad = post(client, url, {"requester_email": "not-an-email", "page_size": 0})
    assert bad.status_code == 400 and {"requester_email", "page_size"} <= set(bad.json())
    # a viewer key may not test whether an address filed requests: 403 saying why
    viewer = key_client(org, admin, Role.VIEWER)
    refused = post(viewer, url, {"requester_email": "pat@example.org"})
    assert refused.status_code == 403
    assert "requester email" in refused.json()["detail"]
    assert mine.reference not in refused.content.decode()
    # viewers search by the other filters, without personal data
    seen = post(viewer, url, {"type": "access"}).json()["results"]
    assert mine.reference in {r["reference"] for r in seen}
    assert all(r["personal"] is None for r in seen)


def test_search_pages_with_the_cursor(org: Organization, admin: User) -> None:
    references = {
        received_request(org, requester_email="pat@example.org").reference for _ in range(3)
    }
    client = key_client(org, admin)
    url = reverse("accounts_api:request_search", kwargs={"org_slug": org.slug})
    first = post(client, url, {"requester_email": "pat@example.org", "page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next_cursor"]
    rest = post(
        client,
        url,
        {"requester_email": "pat@example.org", "page_size": 2, "cursor": first["next_cursor"]},
    ).json()
    found = {r["reference"] for r in first["results"] + rest["results"]}
    assert found == references and rest["next_cursor"] is None
    assert post(client, url, {"cursor": "nonsense"}).json() == {
        "cursor": ["This is not a page cursor."]
    }


def test_the_portal_queue_keeps_the_email_out_of_urls(org: Organization, admin: User) -> None:
    mine = received_request(org, requester_email="pat@example.org", requester_name="Pat Parent")
    received_request(org, requester_email="other@example.org", requester_name="Olive Other")
    client = sign_in(Client(), admin)
    search = reverse("accounts:request_search", kwargs={"org_slug": org.slug})
    response = client.post(search, {"requester_email": "pat@example.org", "request_type": "access"})
    location = response["Location"]
    assert (
        response.status_code == 302 and "pat" not in location and "request_type=access" in location
    )
    page = client.get(location)
    html = page.content.decode()
    assert mine.reference in html and "Olive Other" not in html
    # links and the bulk forms carry the token, never the address
    assert all("example.org" not in value for _name, value in page.context["link_values"])
    assert 'name="return_requester_email"' not in html
    # another session cannot use the token
    stranger = sign_in(Client(), member(org, Role.PRIVACY_STAFF))
    other_page = stranger.get(location)
    assert "Olive Other" in other_page.content.decode()
    assert "That email search has expired" in other_page.content.decode()


def test_the_schema_describes_route_and_search(org: Organization, admin: User) -> None:
    response = sign_in(Client(), admin).get(reverse("api_schema") + "?format=json")
    paths = response.json()["paths"]
    base = "/api/v1/orgs/{org_slug}/requests/"
    search = paths[base + "search/"]["post"]
    assert "requestBody" in search and "200" in search["responses"]
    assert "get" not in paths[base + "search/"]
    route = paths[base + "{request_id}/route/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(route["responses"])
    assert search["operationId"] == "requests_search" and route["operationId"] == "requests_route"
