"""Organization pages: exact query counts that do not grow with the number of rows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in

pytestmark = pytest.mark.django_db

# session, user, the session's verified second factor (django-otp); savepoint+set_config (one
# statement, k12cloud/tenancy.py) (user context); the user's memberships (the membership check
# and the switcher share them);
# savepoint+set_config (tenant context); the page's own queries; the tenant context's
# release (leaving it restores nothing: the next statement would, and none comes before the
# user context ends, k12cloud/tenancy.py); the user context's release and its clearing of the
# settings, which happens only because the test runs inside a transaction: a real request
# commits instead. 9 in all. The MFA middleware adds none for a verified user (it reads the
# device django-otp already loaded); test_mfa.py measures its other cases.
# members by role, then the admin's panels (test_dashboard.py counts each role): posture 3,
# requests 1, retention 2, billing 2; none grows with the members
DASHBOARD_QUERIES = 9 + 1 + 3 + 1 + 2 + 2
# panels of the apps (DASHBOARD_PANEL_PROVIDERS) that add a query, one line each
DASHBOARD_QUERIES += 1  # incidents.dashboard: the open legs, summed in SQL
MEMBER_LIST_QUERIES = 11  # two page queries: count for the paginator, one page of members


def admin_client(extra_members: int) -> tuple[Client, str]:
    org = OrganizationFactory(slug="lincoln-usd")
    admin = member(org, Role.ORG_ADMIN)
    for _ in range(extra_members):
        member(org, Role.PRIVACY_STAFF)
    client = Client()
    sign_in(client, admin)
    return client, str(org.slug)


@pytest.mark.parametrize("extra_members", [0, 30])
def test_dashboard_query_count(extra_members: int, django_assert_num_queries) -> None:
    client, slug = admin_client(extra_members)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("accounts:dashboard", kwargs={"org_slug": slug}))
    assert response.status_code == 200
    assert response.context["members_by_role"][2] == ("Privacy staff", extra_members)


@pytest.mark.parametrize("extra_members", [0, 30])
def test_member_list_query_count(extra_members: int, django_assert_num_queries) -> None:
    client, slug = admin_client(extra_members)
    with django_assert_num_queries(MEMBER_LIST_QUERIES):
        response = client.get(reverse("accounts:member_list", kwargs={"org_slug": slug}))
    assert response.status_code == 200
    assert len(response.context["memberships"]) == 1 + extra_members


def test_home_sends_a_single_membership_straight_to_its_dashboard() -> None:
    client, slug = admin_client(0)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"/o/{slug}/"


def test_home_lists_several_organizations() -> None:
    org_a = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    org_b = OrganizationFactory(slug="hudson-csd", name="Hudson CSD")
    user = member(org_a, Role.ORG_ADMIN, email="two@example.org")
    member(org_b, Role.VIEWER, email="two@example.org")
    client = Client()
    sign_in(client, user)
    body = client.get("/").content.decode()
    assert "Lincoln USD" in body and "Hudson CSD" in body


SECURITY_SETTINGS_QUERIES = 11  # the SSO connection, and the count of active API keys


def test_security_settings_summarize_each_setting(django_assert_num_queries) -> None:
    client, slug = admin_client(0)
    organization = Organization.objects.get(slug=slug)
    organization.ip_allowlist = ["127.0.0.0/8", "2001:db8::/32"]  # incl. the test client
    organization.session_idle_timeout_minutes = 15
    organization.save()
    with django_assert_num_queries(SECURITY_SETTINGS_QUERIES):
        response = client.get(reverse("accounts:security_settings", kwargs={"org_slug": slug}))
    body = response.content.decode()
    assert "Required of: Admins and privacy roles." in body
    assert "2 allowed networks, for: Organization admins only." in body
    assert "Signed out after 15 minutes without activity, and after 12 hours at most." in body
    assert "Not set up: members sign in with their email address and password." in body
    assert "0 active keys." in body
