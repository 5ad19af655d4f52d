"""Single sign-on through each organization's identity provider.

The identity providers are faked at the HTTP boundary only: allauth calls them with
`requests`, which `responses` intercepts. The browser's side of the OAuth dance (the
redirect to the provider and back) is played by the test client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, SsoConnection, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
ENTRA_TENANT = "7f3c1c2e-5b8a-4d7e-9a51-0c2b8d1e6f40"
ENTRA_TOKEN_URL = f"https://login.microsoftonline.com/{ENTRA_TENANT}/oauth2/v2.0/token"
GRAPH_ME_URL = "https://graph.microsoft.com/v1.0/me"
CLIENT_ID = "lincoln-portal.apps.googleusercontent.com"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def idp() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def org(db: None) -> Organization:
    org = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", mfa_policy=Organization.MfaPolicy.NOBODY
    )
    with tenant_context(org):
        SsoConnection.objects.create(
            organization=org,
            provider=SsoConnection.Provider.GOOGLE,
            client_id=CLIENT_ID,
            client_secret="google-client-secret",
            allowed_domain="lincolnusd.org",
        )
    return org


@pytest.fixture
def teacher(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, email="teacher@lincolnusd.org")


def google_id_token(email: str, *, hd: str | None = "lincolnusd.org", verified: bool = True) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "1098765432101234567890",
        "email": email,
        "email_verified": verified,
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "name": "A Teacher",
    }
    if hd is not None:
        claims["hd"] = hd
    return jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": "test-key"})


def start(client: Client, email: str) -> dict[str, list[str]]:
    """Posts the work email to the SSO page; returns the provider authorization request."""
    response = client.post(reverse("sso_start"), {"email": email})
    assert response.status_code == 302, response.content
    return parse_qs(urlparse(response["Location"]).query)


def sign_in_with_google(
    client: Client, idp: responses.RequestsMock, email: str, id_token: str
) -> _MonkeyPatchedWSGIResponse:
    authorization = start(client, email)
    idp.add(
        responses.POST,
        GOOGLE_TOKEN_URL,
        json={
            "access_token": "ya29.fake",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "openid email profile",
            "id_token": id_token,
        },
    )
    response = client.get(
        reverse("google_callback"),
        {"state": authorization["state"][0], "code": "4/0-authorization-code"},
    )
    return response


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def refusals() -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test: read platform events"):
        return list(AuditEvent.objects.filter(action=Action.SIGN_IN_FAILED.value))


# --- Google Workspace ------------------------------------------------------------------------


def test_a_member_signs_in_with_google(
    org: Organization, teacher: User, idp: responses.RequestsMock
) -> None:
    client = Client()
    authorization = start(client, "Teacher@LincolnUSD.org")
    assert authorization["client_id"] == [CLIENT_ID]
    assert authorization["hd"] == ["lincolnusd.org"]
    assert authorization["code_challenge_method"] == ["S256"]
    idp.add(
        responses.POST,
        GOOGLE_TOKEN_URL,
        json={"access_token": "ya29.fake", "id_token": google_id_token(teacher.email)},
    )

    response = client.get(
        reverse("google_callback"), {"state": authorization["state"][0], "code": "the-code"}
    )

    assert response.status_code == 302
    assert signed_in_user_id(client) == teacher.pk
    [token_request] = idp.calls
    sent = parse_qs(str(token_request.request.body))
    assert sent["code"] == ["the-code"] and sent["client_id"] == [CLIENT_ID]
    assert "code_verifier" in sent
    # the member lands in their organization, like after a password sign-in
    home = client.get(reverse("home"))
    assert home["Location"] == reverse("accounts:dashboard", kwargs={"org_slug": org.slug})
    assert client.get(home["Location"]).status_code == 200


def test_the_provider_account_must_be_at_the_allowed_domain(
    org: Organization, teacher: User, idp: responses.RequestsMock
) -> None:
    client = Client()
    # a personal Google account, although the visitor typed a work address
    response = sign_in_with_google(
        client, idp, teacher.email, google_id_token("someone@gmail.com", hd=None)
    )

    assert response.status_code == 403
    assert "not an account of lincolnusd.org" in response.content.decode()
    assert signed_in_user_id(client) is None
    [event] = refusals()
    assert event.changes == {"method": "sso", "reason": "wrong_domain"}


def test_a_consumer_account_with_the_work_address_is_refused(
    org: Organization, teacher: User, idp: responses.RequestsMock
) -> None:
    client = Client()
    # a personal Google account registered with the work address: no Workspace domain
    response = sign_in_with_google(
        client, idp, teacher.email, google_id_token(teacher.email, hd=None)
    )

    assert response.status_code == 403
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize("who", ["unknown", "deactivated", "member_elsewhere"])
def test_only_active_members_of_the_organization_sign_in(
    org: Organization, idp: responses.RequestsMock, who: str
) -> None:
    email = "newcomer@lincolnusd.org"
    if who == "deactivated":
        user = member(org, Role.VIEWER, email=email)
        with tenant_context(org):
            Membership.objects.filter(user=user).update(is_active=False)
    elif who == "member_elsewhere":
        member(OrganizationFactory(slug="hudson-csd"), Role.ORG_ADMIN, email=email)
    client = Client()

    response = sign_in_with_google(client, idp, email, google_id_token(email))

    assert response.status_code == 403
    assert "Lincoln USD has no active member with this address" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert User.objects.filter(email=email).count() == (0 if who == "unknown" else 1)
    assert [e.changes["reason"] for e in refusals()] == ["not_a_member"]


def test_an_unknown_domain_gets_a_field_error(org: Organization) -> None:
    response = Client().post(reverse("sso_start"), {"email": "someone@elsewhere.example"})

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_email_error"' in body and "not set up for this address" in body


def test_a_disabled_connection_is_not_offered(org: Organization) -> None:
    with tenant_context(org):
        SsoConnection.objects.update(enabled=False)

    response = Client().post(reverse("sso_start"), {"email": "teacher@lincolnusd.org"})

    assert response.status_code == 200
    assert "not set up for this address" in response.content.decode()


def test_the_provider_pages_need_a_sign_in_begun_here(db: None) -> None:
    assert Client().post(reverse("google_login")).status_code == 404
    assert Client().get(reverse("google_callback"), {"code": "x", "state": "y"}).status_code == 404


@pytest.mark.parametrize(("has_device", "sent_to"), [(True, "mfa_verify"), (False, "mfa_enrol")])
def test_the_organizations_mfa_policy_applies_after_single_sign_on(
    org: Organization,
    teacher: User,
    idp: responses.RequestsMock,
    has_device: bool,
    sent_to: str,
) -> None:
    Organization.objects.filter(pk=org.pk).update(mfa_policy=Organization.MfaPolicy.EVERYONE)
    if has_device:
        TOTPDevice.objects.create(user=teacher, name="Authenticator app", confirmed=True)
    client = Client()
    sign_in_with_google(client, idp, teacher.email, google_id_token(teacher.email))
    assert signed_in_user_id(client) == teacher.pk

    response = client.get(reverse("accounts:dashboard", kwargs={"org_slug": org.slug}))

    assert response.status_code == 302
    assert urlparse(response["Location"]).path == reverse(sent_to)


# --- Microsoft Entra ID ----------------------------------------------------------------------


def test_a_member_signs_in_with_entra_id(idp: responses.RequestsMock, db: None) -> None:
    org = OrganizationFactory(slug="hudson-csd", mfa_policy=Organization.MfaPolicy.NOBODY)
    with tenant_context(org):
        SsoConnection.objects.create(
            organization=org,
            provider=SsoConnection.Provider.MICROSOFT,
            client_id="hudson-app-id",
            client_secret="entra-client-secret",
            tenant_id=ENTRA_TENANT,
            allowed_domain="hudsoncsd.org",
        )
    user = member(org, Role.ORG_ADMIN, email="clerk@hudsoncsd.org")
    client = Client()
    authorization = start(client, user.email)
    idp.add(responses.POST, ENTRA_TOKEN_URL, json={"access_token": "eyJ.fake", "expires_in": 3600})
    idp.add(
        responses.GET,
        GRAPH_ME_URL,
        json={"id": "0b1c2d3e", "mail": "Clerk@hudsoncsd.org", "displayName": "A Clerk"},
    )

    response = client.get(
        reverse("microsoft_callback"), {"state": authorization["state"][0], "code": "entra-code"}
    )

    assert response.status_code == 302
    assert signed_in_user_id(client) == user.pk
    assert idp.calls[1].request.headers["Authorization"] == "Bearer eyJ.fake"


# --- The settings page -----------------------------------------------------------------------


def settings_url(org: Organization) -> str:
    return reverse("accounts:sso_connection", kwargs={"org_slug": org.slug})


def test_an_admin_sets_up_entra_id_and_the_change_is_audited_by_field_name(db: None) -> None:
    org = OrganizationFactory(slug="hudson-csd")
    client = sign_in(Client(), member(org, Role.ORG_ADMIN))
    values = {
        "provider": "microsoft",
        "allowed_domain": "@HudsonCSD.org",
        "client_id": "hudson-app-id",
        "client_secret": "entra-client-secret",
        "tenant_id": ENTRA_TENANT,
        "enabled": "on",
    }

    assert client.post(settings_url(org), values).status_code == 302
    page = client.get(settings_url(org)).content.decode()
    # the secret is kept when the field is left empty
    assert client.post(settings_url(org), {**values, "client_secret": ""}).status_code == 302

    with tenant_context(org):
        connection = SsoConnection.objects.get()
        events = list(AuditEvent.objects.filter(action=Action.SSO_CONNECTION_CHANGED.value))
    assert connection.allowed_domain == "hudsoncsd.org"
    assert connection.client_secret == "entra-client-secret"
    assert "entra-client-secret" not in page
    [event] = events
    assert event.changes["created"] is True and event.changes["provider"] == "microsoft"
    assert "client_secret" in event.changes["fields"]
    assert "entra-client-secret" not in str(event.changes)


def test_entra_id_needs_a_tenant_and_a_domain_belongs_to_one_organization(
    org: Organization,
) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    client = sign_in(Client(), member(other, Role.ORG_ADMIN))
    values = {
        "provider": "microsoft",
        "allowed_domain": "lincolnusd.org",
        "client_id": "x",
        "client_secret": "y",
        "tenant_id": "",
        "enabled": "on",
    }

    response = client.post(settings_url(other), values)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="id_tenant_id_error"' in body
    response = client.post(settings_url(other), {**values, "tenant_id": ENTRA_TENANT})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Another organization signs in with this domain." in body
    assert 'value="hudson' not in body and 'value="lincolnusd.org"' in body  # input kept
    with tenant_context(other):
        assert not SsoConnection.objects.exists()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ORG_ADMIN])
def test_only_admins_manage_single_sign_on(org: Organization, role: Role) -> None:
    client = sign_in(Client(), member(org, role))

    assert client.get(settings_url(org)).status_code == 403
    assert client.post(settings_url(org), {"provider": "google"}).status_code == 403


def test_a_user_without_membership_cannot_sign_up_through_the_provider(
    org: Organization, idp: responses.RequestsMock
) -> None:
    UserFactory(email="ops@k12.example", is_staff=True)
    client = Client()

    response = sign_in_with_google(
        client, idp, "ops@lincolnusd.org", google_id_token("ops@lincolnusd.org")
    )

    assert response.status_code == 403
    assert not User.objects.filter(email="ops@lincolnusd.org").exists()
