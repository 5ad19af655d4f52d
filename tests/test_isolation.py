"""Cross-tenant isolation, per endpoint: a member of A never reaches B's pages or objects.

Every test runs twice (the `scoping` fixture): with the application-level tenant filter, and
with it switched off so that PostgreSQL row-level security alone must hold. Membership checks
(authorization: "is this user in the organization named by the URL?") stay on in both runs;
what is switched off is the scoping of querysets, which is what stops IDs of another tenant's
objects from resolving.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership
from k12cloud.tenancy import unscoped_all_tenants
from tests.conftest import Tenant, signed_in

pytestmark = pytest.mark.django_db

B_PAGES = ["accounts:dashboard", "accounts:member_list"]
B_API = ["accounts_api:organization_detail", "accounts_api:membership_list"]


def test_every_page_of_b_is_404_for_a_member_of_a(
    scoping: bool, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    client = signed_in(tenant_a.admin)
    b_member = tenant_b.membership_of(tenant_b.viewer)
    urls = [reverse(name, kwargs={"org_slug": "hudson-csd"}) for name in B_PAGES + B_API]
    urls += [
        reverse(name, kwargs={"org_slug": "hudson-csd", "membership_id": b_member.pk})
        for name in ("accounts:member_detail", "accounts_api:membership_detail")
    ]
    assert {url: client.get(url).status_code for url in urls} == dict.fromkeys(urls, 404)


@pytest.mark.parametrize("name", ["accounts:member_detail", "accounts_api:membership_detail"])
def test_b_object_id_in_a_path_is_404(
    scoping: bool, name: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    b_member = tenant_b.membership_of(tenant_b.viewer)
    with unscoped_all_tenants(reason="test: the id exists"):
        assert Membership.objects.filter(pk=b_member.pk).exists()
    url = reverse(name, kwargs={"org_slug": "lincoln-usd", "membership_id": b_member.pk})
    response = signed_in(tenant_a.admin).get(url)
    assert response.status_code == 404
    assert b"b.example" not in response.content


def test_lists_of_a_never_contain_b_rows(scoping: bool, tenant_a: Tenant, tenant_b: Tenant) -> None:
    client = signed_in(tenant_a.admin)
    page = client.get(reverse("accounts:member_list", kwargs={"org_slug": "lincoln-usd"}))
    api = client.get(reverse("accounts_api:membership_list", kwargs={"org_slug": "lincoln-usd"}))
    assert page.status_code == api.status_code == 200
    assert b"a.example" in page.content
    assert b"b.example" not in page.content
    assert sorted(row["email"] for row in api.json()["results"]) == [
        "admin@a.example",
        "viewer@a.example",
    ]


def test_my_organizations_lists_only_my_memberships(
    scoping: bool, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    response = signed_in(tenant_a.viewer).get(reverse("accounts_api:my_organizations"))
    assert [row["organization"]["slug"] for row in response.json()] == ["lincoln-usd"]


def test_unknown_organization_is_404(scoping: bool, tenant_a: Tenant) -> None:
    client = signed_in(tenant_a.admin)
    assert client.get("/o/no-such-district/").status_code == 404
    assert client.get("/api/v1/orgs/no-such-district/").status_code == 404


def test_a_deactivated_membership_loses_access(scoping: bool, tenant_a: Tenant) -> None:
    from k12cloud.tenancy import tenant_context

    with tenant_context(tenant_a.organization):
        Membership.objects.filter(user=tenant_a.viewer).update(is_active=False)
    assert signed_in(tenant_a.viewer).get("/o/lincoln-usd/").status_code == 404


# --- privacy requests: the workflow's request page and actions (workflow engineer) ---

REQUEST_ACTIONS = [
    ("accounts:request_verify", {"verify-method": "records_match", "verify-evidence": "x"}),
    ("accounts:request_acknowledge", {"acknowledge-message": ""}),
    ("accounts:request_extend", {"extend-reason": "x"}),
    ("accounts:request_close", {"close-outcome": "denied", "close-reason": "x"}),
    ("accounts:request_transition", {"status-to_status": "withdrawn"}),
    ("accounts:request_duplicate", {"duplicate-original": "R-XXXX-XXXX"}),
    ("accounts:request_message_add", {"message-direction": "internal", "message-body": "x"}),
    ("accounts:request_assign", {"assign-assignee": ""}),
]


def test_a_request_id_of_b_is_404_on_every_request_page_of_a(
    scoping: bool, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    from privacy_requests.models import PrivacyRequest
    from privacy_requests.tests.factories import stored_request

    b_request = stored_request(tenant_b.organization, requester_name="Bea Hudson")
    client = signed_in(tenant_a.admin)
    kwargs = {"org_slug": "lincoln-usd", "request_id": b_request.pk}
    detail = client.get(reverse("accounts:request_detail", kwargs=kwargs))
    assert detail.status_code == 404
    assert b"Bea Hudson" not in detail.content
    posts = {
        name: client.post(reverse(name, kwargs=kwargs), data).status_code
        for name, data in REQUEST_ACTIONS
    }
    assert posts == dict.fromkeys(posts, 404)
    # and B's own URLs are 404 for a member of A
    b_url = reverse("accounts:request_detail", kwargs={**kwargs, "org_slug": "hudson-csd"})
    assert client.get(b_url).status_code == 404
    with unscoped_all_tenants(reason="test: B's request is untouched"):
        untouched = PrivacyRequest.objects.get(pk=b_request.pk)
    assert untouched.status == "received" and untouched.assignee_id is None


def test_a_duplicate_original_of_b_cannot_be_named_from_a(
    scoping: bool, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    from privacy_requests.tests.factories import stored_request

    a_request = stored_request(tenant_a.organization)
    b_request = stored_request(tenant_b.organization)
    url = reverse(
        "accounts:request_duplicate",
        kwargs={"org_slug": "lincoln-usd", "request_id": a_request.pk},
    )
    response = signed_in(tenant_a.admin).post(url, {"duplicate-original": b_request.reference})
    assert response.status_code == 200
    assert "No request of this organization has that reference." in response.content.decode()
