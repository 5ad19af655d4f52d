"""Cache-Control: what is answered for one caller is never stored (k12cloud.middleware).

Every portal page and API endpoint that a member or ops staff can open answers with no-store;
so do API-key requests, refusals on /api/ and the second-factor redirect. Anonymous public pages
and static files keep their own caching, and a view's own Cache-Control is left as it is.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.api_keys import api_key_create
from accounts.models import User
from accounts.permissions import Role
from accounts.tests.factories import member
from k12cloud.middleware import PRIVATE_CACHE_CONTROL
from privacy_requests.tests.factories import stored_request
from tests.conftest import Tenant, signed_in
from tests.test_url_sweep import ACTORS, ALL_PATTERNS, EXPECTED, build_url

pytestmark = pytest.mark.django_db

# every named URL that a member of the tenant (or ops staff) opens with a 200, pages and API
SIGNED_IN_PAGES = sorted(
    (name, route)
    for name, route in ALL_PATTERNS
    if name in EXPECTED
    and any(
        status == 200 and actor in {"member_a", "ops"}
        for actor, status in zip(ACTORS, EXPECTED[name], strict=True)
    )
)


def no_store(response: object) -> bool:
    value = response.get("Cache-Control", "")  # type: ignore[attr-defined]
    return "no-store" in value


def test_the_sweep_covers_pages_and_api_endpoints() -> None:
    """The test below would prove little if the table stopped naming both kinds."""
    names = [name for name, _ in SIGNED_IN_PAGES]
    assert sum(name.startswith("accounts_api:") for name in names) >= 3
    assert sum(name.startswith("accounts:") for name in names) >= 10


@pytest.mark.parametrize(
    ("name", "route"), SIGNED_IN_PAGES, ids=[name for name, _ in SIGNED_IN_PAGES]
)
def test_every_signed_in_page_and_api_endpoint_says_no_store(
    name: str, route: str, tenant_a: Tenant, ops_user: User
) -> None:
    device = TOTPDevice.objects.create(user=ops_user, name="cache")
    url = build_url(name, route, tenant_a, device.pk)
    expected = dict(zip(ACTORS, EXPECTED[name], strict=True))
    actor = tenant_a.admin if expected["member_a"] == 200 else ops_user
    response = signed_in(actor).get(url)
    assert response.status_code == 200
    assert no_store(response), f"{url}: Cache-Control {response.get('Cache-Control')!r}"


def test_the_ops_admin_says_no_store(ops_user: User) -> None:
    for url in ["/admin/", "/admin/accounts/organization/"]:
        response = signed_in(ops_user).get(url)
        assert response.status_code == 200
        assert no_store(response), url


def test_api_key_requests_say_no_store(tenant_a: Tenant) -> None:
    token = api_key_create(
        organization=tenant_a.organization,
        user=tenant_a.admin,
        name="SIS sync",
        role=Role.ORG_ADMIN,
        expires_at=None,
    ).token
    stored_request(tenant_a.organization)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    slug = tenant_a.organization.slug
    for url in [
        f"/api/v1/orgs/{slug}/",
        f"/api/v1/orgs/{slug}/members/",
        f"/api/v1/orgs/{slug}/requests/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == PRIVATE_CACHE_CONTROL, url
    refused = Client(headers={"Authorization": "Bearer k12_nope_nope"}).get(f"/api/v1/orgs/{slug}/")
    assert refused.status_code == 401
    assert refused["Cache-Control"] == PRIVATE_CACHE_CONTROL


def test_api_refusals_and_the_second_factor_redirect_say_no_store(tenant_a: Tenant) -> None:
    anonymous = Client().get("/api/v1/orgs/")
    assert anonymous.status_code == 403
    assert anonymous["Cache-Control"] == PRIVATE_CACHE_CONTROL
    admin_without_second_factor = signed_in(
        member(tenant_a.organization, Role.ORG_ADMIN, email="new-admin@a.example"),
        second_factor=False,
    )
    redirect = admin_without_second_factor.get(f"/o/{tenant_a.organization.slug}/")
    assert redirect.status_code == 302
    assert redirect["Cache-Control"] == PRIVATE_CACHE_CONTROL


def test_a_views_own_cache_control_is_kept(tenant_a: Tenant) -> None:
    response = signed_in(tenant_a.admin).post(f"/o/{tenant_a.organization.slug}/requests/export/")
    assert response.status_code == 200
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert response["Cache-Control"] == "no-store"  # set by the view, not replaced


NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


@pytest.mark.parametrize(
    ("url", "cache_control"),
    [
        ("/healthz/", None),
        ("/accounts/password/reset/", None),
        ("/accounts/login/", NEVER_CACHE),  # allauth's own never_cache
        ("/privacy/lincoln-usd/", NEVER_CACHE),  # the public intake's own never_cache
    ],
)
def test_anonymous_public_pages_are_unaffected(
    url: str, cache_control: str | None, tenant_a: Tenant
) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    assert response.get("Cache-Control") == cache_control


def test_static_files_keep_their_caching_for_signed_in_users(tenant_a: Tenant) -> None:
    for client in [Client(), signed_in(tenant_a.admin)]:
        response = client.get("/static/css/portal.css")
        assert response.status_code == 200
        assert "max-age" in response["Cache-Control"]
        assert not no_store(response)
