"""Per-organization IP allowlists (portal and API), their settings page, and the ops admin's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db

ELSEWHERE = ["203.0.113.0/24"]


def events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="admin@lincoln.example")


@pytest.fixture
def viewer(org: Organization) -> User:
    return member(org, Role.VIEWER, email="viewer@lincoln.example")


def restrict(org: Organization, networks: list[str], scope: str = "admins") -> None:
    Organization.objects.filter(pk=org.pk).update(ip_allowlist=networks, ip_allowlist_scope=scope)


def dashboard(org: Organization) -> str:
    return reverse("accounts:dashboard", kwargs={"org_slug": org.slug})


def get(user: User, url: str, **extra: str):
    return sign_in(Client(), user).get(url, **extra)


def test_empty_list_restricts_nobody(org: Organization, admin: User) -> None:
    assert get(admin, dashboard(org)).status_code == 200


def test_admin_outside_the_list_is_refused_and_audited(org: Organization, admin: User) -> None:
    restrict(org, ELSEWHERE)
    response = get(admin, dashboard(org))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Access refused from this network" in body
    assert "Lincoln USD allows its pages to be opened only from its approved networks" in body
    assert "127.0.0.1" in body
    # the event survives the response (a raised refusal would have been rolled back)
    (event,) = events(Action.ACCESS_REFUSED_BY_IP)
    assert event.organization_id == org.pk
    assert event.changes == {"role": "org_admin", "scope": "admins"}
    assert event.actor_user_id == admin.pk


def test_admins_scope_leaves_other_roles_alone(org: Organization, viewer: User) -> None:
    restrict(org, ELSEWHERE, scope="admins")
    assert get(viewer, dashboard(org)).status_code == 200
    assert events(Action.ACCESS_REFUSED_BY_IP) == []


def test_everyone_scope_restricts_every_role(org: Organization, viewer: User) -> None:
    restrict(org, ELSEWHERE, scope="everyone")
    assert get(viewer, dashboard(org)).status_code == 403


def test_address_inside_the_list_is_let_through(org: Organization, admin: User) -> None:
    restrict(org, ["192.0.2.0/24", "127.0.0.0/8"])
    assert get(admin, dashboard(org)).status_code == 200


def test_ipv6_networks(org: Organization, admin: User) -> None:
    restrict(org, ["2001:db8::/32"])
    assert get(admin, dashboard(org), REMOTE_ADDR="2001:db8:5::1").status_code == 200
    assert get(admin, dashboard(org), REMOTE_ADDR="2001:db9::1").status_code == 403
    assert get(admin, dashboard(org)).status_code == 403  # IPv4 is never inside an IPv6 network


def test_forwarded_address_counts_only_through_a_trusted_proxy(
    org: Organization, admin: User, settings
) -> None:
    restrict(org, ELSEWHERE)
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert get(admin, dashboard(org), **forwarded).status_code == 403  # spoofed: ignored
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert get(admin, dashboard(org), **forwarded).status_code == 200


def test_another_organizations_list_does_not_apply(org: Organization, admin: User) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    member(other, Role.VIEWER, email=admin.email)
    restrict(other, ELSEWHERE, scope="everyone")
    assert get(admin, dashboard(org)).status_code == 200
    assert get(admin, dashboard(other)).status_code == 403


def test_the_api_refuses_with_json_and_audits(org: Organization, admin: User) -> None:
    restrict(org, ELSEWHERE)
    url = reverse("accounts_api:organization_detail", kwargs={"org_slug": org.slug})
    response = get(admin, url)
    assert response.status_code == 403
    assert "IP allowlist" in response.json()["detail"]
    assert len(events(Action.ACCESS_REFUSED_BY_IP)) == 1


# --- the settings page ------------------------------------------------------------------------


def network_url(org: Organization) -> str:
    return reverse("accounts:ip_allowlist", kwargs={"org_slug": org.slug})


def saved(org: Organization) -> tuple[list[str], str]:
    org.refresh_from_db()
    return org.ip_allowlist, org.ip_allowlist_scope


def test_page_shows_the_list_and_the_visitors_address(org: Organization, admin: User) -> None:
    restrict(org, ["127.0.0.0/8", "2001:db8::/32"])
    body = get(admin, network_url(org)).content.decode()
    assert "127.0.0.0/8\n2001:db8::/32</textarea>" in body
    assert "Your current address: <strong>127.0.0.1</strong>" in body


def test_save_normalizes_and_audits_counts(org: Organization, admin: User) -> None:
    client = sign_in(Client(), admin)
    text = "127.0.0.1/8\n\n  2001:DB8::1  \n# the office\n127.0.0.0/8\n198.51.100.7"
    response = client.post(network_url(org), {"networks": text, "scope": "everyone"})
    assert response.status_code == 302
    assert saved(org) == (["127.0.0.0/8", "2001:db8::1/128", "198.51.100.7/32"], "everyone")
    (event,) = events(Action.IP_ALLOWLIST_CHANGED)
    assert event.organization_id == org.pk
    assert event.changes == {
        "networks": 3,
        "added": 3,
        "removed": 0,
        "scope": {"from": "admins", "to": "everyone"},
    }
    assert "198.51.100.7" not in str(event.changes)
    # saving the same again changes nothing and records nothing
    client.post(network_url(org), {"networks": text, "scope": "everyone"})
    assert len(events(Action.IP_ALLOWLIST_CHANGED)) == 1


def test_bad_lines_get_line_specific_errors_and_nothing_is_saved(
    org: Organization, admin: User
) -> None:
    restrict(org, ["127.0.0.0/8"])
    text = "127.0.0.0/8\n10.0.0.300\n\nexample.org"
    response = sign_in(Client(), admin).post(
        network_url(org), {"networks": text, "scope": "admins"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["networks"]
    assert errors == [
        "Line 2: “10.0.0.300” is not an IPv4 or IPv6 address or network (CIDR, e.g. "
        "203.0.113.0/24).",
        "Line 4: “example.org” is not an IPv4 or IPv6 address or network (CIDR, e.g. "
        "203.0.113.0/24).",
    ]
    body = response.content.decode()
    assert 'aria-invalid="true"' in body and "id_networks_error" in body
    assert "10.0.0.300\n\nexample.org</textarea>" in body  # what was typed is kept
    assert saved(org) == (["127.0.0.0/8"], "admins")
    assert events(Action.IP_ALLOWLIST_CHANGED) == []


def test_excluding_yourself_needs_explicit_confirmation(org: Organization, admin: User) -> None:
    client = sign_in(Client(), admin)
    data = {"networks": "203.0.113.0/24", "scope": "admins"}
    response = client.post(network_url(org), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your current address (127.0.0.1) is not in this list" in body
    assert 'name="confirm_self_exclusion"' in body
    assert saved(org) == ([], "admins")

    response = client.post(network_url(org), {**data, "confirm_self_exclusion": "on"})
    assert response.status_code == 302
    assert saved(org) == (["203.0.113.0/24"], "admins")
    (event,) = events(Action.IP_ALLOWLIST_CHANGED)
    assert event.changes["confirmed_self_exclusion"] is True
    # and from now on the admin is refused here, as warned
    assert client.get(network_url(org)).status_code == 403


def test_emptying_the_list_needs_no_confirmation(org: Organization, admin: User) -> None:
    restrict(org, ["127.0.0.0/8"])
    response = sign_in(Client(), admin).post(network_url(org), {"networks": "", "scope": "admins"})
    assert response.status_code == 302
    assert saved(org) == ([], "admins")
    assert events(Action.IP_ALLOWLIST_CHANGED)[0].changes == {
        "networks": 0,
        "added": 0,
        "removed": 1,
    }


# --- the ops admin's deployment-wide list -----------------------------------------------------


@pytest.fixture
def ops() -> User:
    return UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/accounts/organization/"])
def test_ops_admin_honours_the_deployment_allowlist(ops: User, settings, path: str) -> None:
    settings.OPS_ADMIN_IP_ALLOWLIST = ELSEWHERE
    response = get(ops, path)
    assert response.status_code == 403
    assert "The operations admin can be opened only from approved networks" in (
        response.content.decode()
    )
    (event,) = events(Action.ACCESS_REFUSED_BY_IP)
    assert event.organization_id is None
    assert event.changes == {"area": "ops_admin"}


def test_ops_admin_open_from_an_allowed_address(ops: User, settings) -> None:
    settings.OPS_ADMIN_IP_ALLOWLIST = ["127.0.0.1", "2001:db8::/32"]
    assert get(ops, "/admin/").status_code == 200
    settings.OPS_ADMIN_IP_ALLOWLIST = []
    assert get(ops, "/admin/").status_code == 200
