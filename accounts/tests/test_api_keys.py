"""Organization API keys: the pages that create and revoke them, and the API accepting them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.api.authentication import ApiKeyAuthentication
from accounts.api_keys import api_key_create, api_key_revoke
from accounts.models import ApiKey, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.context import Actor, ActorKind
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context

# session, user, second factor; the memberships (one switcher and the check); the keys; the
# tenancy settings and savepoints around them. Middleware added later may add a few.
LIST_PAGE_QUERIES = 10
TOKEN = re.compile(r"k12_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org: Organization) -> User:
    return member(org, Role.ORG_ADMIN, email="admin@lincoln.example")


@pytest.fixture
def admin_client(admin: User) -> Client:
    return sign_in(Client(), admin)


def make_key(
    org: Organization,
    user: User,
    role: Role = Role.VIEWER,
    name: str = "SIS sync",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    created = api_key_create(
        organization=org, user=user, name=name, role=role, expires_at=expires_at
    )
    return created.key, created.token


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def events(org: Organization, action: Action) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(organization=org, action=action.value))


def list_url(org: Organization) -> str:
    return reverse("accounts:api_key_list", kwargs={"org_slug": org.slug})


def revoke_url(org: Organization, key: ApiKey) -> str:
    return reverse("accounts:api_key_revoke", kwargs={"org_slug": org.slug, "key_id": key.pk})


def org_url(org: Organization) -> str:
    return reverse("accounts_api:organization_detail", kwargs={"org_slug": org.slug})


def members_url(org: Organization) -> str:
    return reverse("accounts_api:membership_list", kwargs={"org_slug": org.slug})


# --- Pages -------------------------------------------------------------------------------------


def test_creating_a_key_shows_its_token_once_and_stores_only_a_hash(
    org: Organization, admin: User, admin_client: Client
) -> None:
    response = admin_client.post(
        list_url(org), {"name": "SIS sync", "role": Role.VIEWER, "expires_in": "90"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    tokens = TOKEN.findall(response.content.decode())
    assert len(set(tokens)) == 1
    token = tokens[0]
    secret = token.split("_", 2)[2]
    with tenant_context(org):
        key = ApiKey.objects.get()
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM accounts_apikey")
            raw_row = " ".join(str(value) for value in cursor.fetchone())
    assert key.prefix in token and key.name == "SIS sync" and key.role == Role.VIEWER
    assert key.created_by == admin
    assert timedelta(days=89) < key.expires_at - timezone.now() <= timedelta(days=90)
    assert secret not in raw_row
    assert token not in raw_row
    # the session does not carry it either, so the next visit cannot show it again
    assert secret not in str(dict(admin_client.session))
    again = admin_client.get(list_url(org)).content.decode()
    assert key.prefix in again and secret not in again
    [event] = events(org, Action.API_KEY_CREATED)
    assert event.target_id == str(key.pk)
    assert event.actor_user_id == admin.pk
    assert event.changes["prefix"] == key.prefix and event.changes["role"] == Role.VIEWER
    assert "SIS sync" not in str(event.changes)


def test_sending_the_same_creation_form_twice_creates_one_key(
    org: Organization, admin_client: Client
) -> None:
    page = admin_client.get(list_url(org)).content.decode()
    [submission] = re.findall(r'name="submission" value="([0-9a-f-]{36})"', page)
    data = {"name": "SIS sync", "role": Role.VIEWER, "expires_in": "90", "submission": submission}
    first = admin_client.post(list_url(org), data)
    assert len(set(TOKEN.findall(first.content.decode()))) == 1
    # the browser's reload of the POST: the same form again
    again = admin_client.post(list_url(org), data, follow=True)
    assert again.redirect_chain == [(list_url(org), 302)]
    assert "already sent" in again.content.decode()
    assert TOKEN.findall(again.content.decode()) == []
    with tenant_context(org):
        assert ApiKey.objects.count() == 1
    assert len(events(org, Action.API_KEY_CREATED)) == 1
    # the page after a creation carries a fresh form: a second key is one more submit away
    [fresh] = re.findall(r'name="submission" value="([0-9a-f-]{36})"', first.content.decode())
    assert fresh != submission
    admin_client.post(list_url(org), {**data, "name": "Other", "submission": fresh})
    with tenant_context(org):
        assert ApiKey.objects.count() == 2


def test_a_key_without_a_name_is_refused_with_a_field_error(
    org: Organization, admin_client: Client
) -> None:
    response = admin_client.post(
        list_url(org), {"name": "   ", "role": Role.VIEWER, "expires_in": "never"}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_name_error"' in body and 'aria-invalid="true"' in body
    assert 'value="never" selected' in body  # the other choices are kept
    assert TOKEN.search(body) is None
    with tenant_context(org):
        assert not ApiKey.objects.exists()
    assert events(org, Action.API_KEY_CREATED) == []


def test_a_key_that_never_expires(org: Organization, admin_client: Client) -> None:
    admin_client.post(list_url(org), {"name": "x", "role": Role.VIEWER, "expires_in": "never"})

    with tenant_context(org):
        assert ApiKey.objects.get().expires_at is None


def test_revoking_a_key_refuses_it_at_once_and_is_audited_once(
    org: Organization, admin: User, admin_client: Client
) -> None:
    key, token = make_key(org, admin)
    assert api(token).get(org_url(org)).status_code == 200

    confirm = admin_client.get(revoke_url(org, key))
    assert confirm.status_code == 200 and key.prefix in confirm.content.decode()
    response = admin_client.post(revoke_url(org, key))
    assert response.status_code == 302
    admin_client.post(revoke_url(org, key))  # twice: nothing more happens

    refused = api(token).get(org_url(org))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "This API key has been revoked."}
    assert refused["WWW-Authenticate"].startswith("Bearer")
    [event] = events(org, Action.API_KEY_REVOKED)
    assert event.target_id == str(key.pk) and event.actor_user_id == admin.pk
    assert event.changes == {"prefix": key.prefix, "role": Role.VIEWER}


def test_an_admin_cannot_revoke_another_organizations_key(
    org: Organization, admin: User, admin_client: Client
) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    key, token = make_key(other, member(other, Role.ORG_ADMIN))
    url = reverse("accounts:api_key_revoke", kwargs={"org_slug": org.slug, "key_id": key.pk})

    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url).status_code == 404
    assert api(token).get(org_url(other)).status_code == 200
    assert events(other, Action.API_KEY_REVOKED) == []


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ORG_ADMIN])
def test_only_admins_may_manage_keys(org: Organization, admin: User, role: Role) -> None:
    key, _token = make_key(org, admin)
    client = sign_in(Client(), member(org, role))

    assert client.get(list_url(org)).status_code == 403
    create = client.post(list_url(org), {"name": "x", "role": Role.ORG_ADMIN, "expires_in": "30"})
    assert create.status_code == 403
    assert client.get(revoke_url(org, key)).status_code == 403
    assert client.post(revoke_url(org, key)).status_code == 403
    with tenant_context(org):
        assert list(ApiKey.objects.values_list("pk", "revoked_at")) == [(key.pk, None)]


def test_the_list_page_reads_a_fixed_number_of_queries(
    org: Organization, admin: User, admin_client: Client
) -> None:
    make_key(org, admin)
    admin_client.get(list_url(org))  # warm up
    with CaptureQueriesContext(connection) as one_key:
        admin_client.get(list_url(org))
    for n in range(5):
        make_key(org, admin, name=f"key {n}")
    with CaptureQueriesContext(connection) as six_keys:
        response = admin_client.get(list_url(org))
    assert response.content.decode().count("<code>k12_") == 6
    assert len(one_key.captured_queries) == LIST_PAGE_QUERIES
    assert len(six_keys.captured_queries) == LIST_PAGE_QUERIES


# --- The API -----------------------------------------------------------------------------------


def test_a_key_works_on_its_organizations_endpoints(org: Organization, admin: User) -> None:
    _key, token = make_key(org, admin, role=Role.PRIVACY_OFFICER)

    detail = api(token).get(org_url(org))
    members = api(token).get(members_url(org))

    assert detail.status_code == 200 and detail.json()["slug"] == org.slug
    assert members.status_code == 200
    assert [m["email"] for m in members.json()["results"]] == ["admin@lincoln.example"]


def test_a_viewer_key_is_refused_an_action_its_role_may_not_do(
    org: Organization, admin: User
) -> None:
    _key, token = make_key(org, admin, role=Role.VIEWER)

    response = api(token).get(members_url(org))

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this action."}


def test_a_key_is_not_found_on_another_organizations_url(org: Organization, admin: User) -> None:
    other = OrganizationFactory(slug="hudson-csd")
    _key, token = make_key(other, member(other, Role.ORG_ADMIN), role=Role.ORG_ADMIN)

    assert api(token).get(org_url(org)).status_code == 404
    assert api(token).get(members_url(org)).status_code == 404
    assert api(token).get(org_url(other)).status_code == 200


def test_a_key_is_refused_on_endpoints_for_signed_in_users(org: Organization, admin: User) -> None:
    _key, token = make_key(org, admin, role=Role.ORG_ADMIN)

    for name in ("accounts_api:my_organizations", "api_root"):
        assert api(token).get(reverse(name)).status_code == 403, name
    # the schema is for integrators, who hold keys (issue #14, item 7)
    assert api(token).get(reverse("api_schema")).status_code == 200


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("k12_0123456789ab_" + "x" * 43, "Invalid API key."),
        ("k12_garbage", "Malformed API key."),
        ("not-ours", "Unrecognised bearer token: expected a k12_ API key."),
    ],
)
def test_unknown_tokens_get_401(org: Organization, token: str, detail: str) -> None:
    response = api(token).get(org_url(org))

    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_a_wrong_secret_for_a_real_prefix_gets_401(org: Organization, admin: User) -> None:
    key, token = make_key(org, admin)
    api_key_revoke(organization=org, user=admin, key_id=key.pk)
    forged = token[:-1] + ("y" if token[-1] != "y" else "z")

    response = api(forged).get(org_url(org))

    # not "revoked": only the holder of the secret learns the key's state
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


def test_an_expired_key_gets_401(org: Organization, admin: User) -> None:
    _key, token = make_key(org, admin, expires_at=timezone.now() + timedelta(days=1))

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = api(token).get(org_url(org))

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has expired."}


def test_anonymous_requests_keep_their_403(org: Organization) -> None:
    assert Client().get(org_url(org)).status_code == 403


def test_the_session_still_works_and_wins_without_a_bearer_header(
    org: Organization, admin_client: Client
) -> None:
    assert admin_client.get(members_url(org)).status_code == 200
    assert admin_client.get(reverse("accounts_api:my_organizations")).status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(org: Organization, admin: User) -> None:
    key, token = make_key(org, admin)
    start = timezone.now()

    def last_used() -> object:
        with tenant_context(org):
            return ApiKey.objects.get(pk=key.pk).last_used_at

    assert last_used() is None
    with time_machine.travel(start, tick=False):
        api(token).get(org_url(org))
    assert last_used() == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        api(token).get(org_url(org))
    assert last_used() == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api(token).get(org_url(org))
    assert last_used() == start + timedelta(seconds=61)


def test_a_key_request_is_attributed_to_the_key_in_the_audit_log(
    org: Organization, admin: User
) -> None:
    key, token = make_key(org, admin)
    http_request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")

    user, auth = ApiKeyAuthentication().authenticate(Request(http_request))  # type: ignore[misc]

    assert not user.is_authenticated and auth == key
    actor = Actor.from_request(http_request)
    assert actor.kind == ActorKind.API_KEY and actor.api_key_id == key.pk


def test_an_admin_key_can_list_members_like_an_admin(org: Organization, admin: User) -> None:
    member(org, Role.VIEWER, email="viewer@lincoln.example")
    _key, token = make_key(org, admin, role=Role.ORG_ADMIN)

    response = api(token).get(members_url(org))

    assert sorted(m["email"] for m in response.json()["results"]) == [
        "admin@lincoln.example",
        "viewer@lincoln.example",
    ]
