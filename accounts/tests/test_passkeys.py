"""Passkeys (WebAuthn): registration, the second step, clone detection, single-use challenges,
the organization's passkey policy, removal, password-less sign-in.

Every response is made by a software authenticator with a real P-256 key
(accounts.tests.passkey_authenticator) and verified by py_webauthn for real.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa.models import RecoveryCode, WebAuthnCredential
from accounts.mfa.passkeys import relying_party
from accounts.mfa.selectors import has_second_factor
from accounts.mfa.services import recovery_codes_generate
from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from accounts.tests.passkey_authenticator import SoftAuthenticator
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
REGISTER = "/accounts/mfa/passkeys/new/"
VERIFY = "/accounts/mfa/verify/passkey/"
SIGN_IN = "/accounts/mfa/passkey-sign-in/"
HOME = "/o/lincoln-usd/"


@pytest.fixture(autouse=True)
def _relying_party(settings: Any) -> None:
    settings.WEBAUTHN_RP_ID = "testserver"
    settings.WEBAUTHN_ORIGINS = [ORIGIN]


@pytest.fixture
def lincoln() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


def events(action: str) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test: reading audit events"):
        return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def authenticator(**kwargs: Any) -> SoftAuthenticator:
    return SoftAuthenticator(rp_id="testserver", origin=ORIGIN, **kwargs)


def password_only(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reauthenticated(client: Client) -> Client:
    response = client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def options(client: Client, url: str) -> dict[str, Any]:
    response = client.post(f"{url}options/")
    assert response.status_code == 200, response.content[:300]
    assert response["Cache-Control"] == "no-store"
    return response.json()


def register(client: Client, key: SoftAuthenticator, name: str = "YubiKey", **create: Any) -> Any:
    response_json = key.create(options(client, REGISTER), **create)
    return client.post(REGISTER, {"name": name, "credential": response_json, "next": HOME})


def verify(client: Client, key: SoftAuthenticator, url: str = VERIFY, **get: Any) -> Any:
    return client.post(url, {"credential": key.get(options(client, url), **get), "next": HOME})


def with_passkey(user: User) -> SoftAuthenticator:
    """A user who has registered `key` (in a session of their own)."""
    key = authenticator()
    client = reauthenticated(sign_in(Client(), user))
    assert register(client, key).status_code in (200, 302)
    return key


def verified_by(client: Client) -> str:
    from django_otp import DEVICE_ID_SESSION_KEY

    return str(client.session.get(DEVICE_ID_SESSION_KEY, ""))


# --- settings -------------------------------------------------------------------------------


def test_the_relying_party_comes_from_the_portal_address(settings: Any) -> None:
    settings.WEBAUTHN_RP_ID = ""
    settings.WEBAUTHN_ORIGINS = []
    settings.PORTAL_BASE_URL = "https://portal.k-12.cloud"
    rp = relying_party()
    assert (rp.id, rp.origins) == ("portal.k-12.cloud", ["https://portal.k-12.cloud"])
    settings.WEBAUTHN_RP_ID = "k-12.cloud"
    settings.WEBAUTHN_ORIGINS = ["https://portal.k-12.cloud", "https://eu.k-12.cloud"]
    assert relying_party().id == "k-12.cloud"
    assert relying_party().origins == ["https://portal.k-12.cloud", "https://eu.k-12.cloud"]


# --- registration ---------------------------------------------------------------------------


def test_registering_a_passkey_verifies_the_attestation_and_is_audited(
    lincoln: Organization,
) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    client = reauthenticated(sign_in(Client(), user))
    recovery_codes_generate(user=user)  # has them already: none are shown this time
    page = client.get(REGISTER).content.decode()
    assert 'data-passkey-ceremony="create"' in page and "js/passkeys.js" in page
    assert "<script>" not in page  # no inline script: the CSP allows only files

    opts = options(client, REGISTER)
    assert opts["rp"] == {"id": "testserver", "name": "k12cloud"}
    assert opts["user"]["name"] == user.email and opts["excludeCredentials"] == []
    assert opts["authenticatorSelection"]["residentKey"] == "preferred"
    key = authenticator()
    response = client.post(
        REGISTER, {"name": "  YubiKey 5C  ", "credential": key.create(opts), "next": HOME}
    )
    assert response.status_code == 302 and response["Location"] == HOME

    passkey = WebAuthnCredential.objects.get(user=user)
    assert (passkey.name, passkey.credential_id) == ("YubiKey 5C", key.credential_id_b64)
    assert passkey.sign_count == 0 and passkey.transports == ["usb"]
    assert passkey.user_handle == opts["user"]["id"] and passkey.user_handle != str(user.pk)
    assert [e.changes for e in events("mfa.passkey_registered")] == [
        {"passkey_id": passkey.pk, "backed_up": False, "user_verified": True}
    ]
    assert "mfa_passkey_pending" not in client.session  # the challenge is used up

    # a second passkey: the first is excluded, and the user handle is shared
    again = options(client, REGISTER)
    assert [c["id"] for c in again["excludeCredentials"]] == [key.credential_id_b64]
    assert again["user"]["id"] == opts["user"]["id"]
    assert again["challenge"] != opts["challenge"]


@pytest.mark.parametrize(
    ("create", "reason"),
    [
        ({"origin": "https://k12cloud.example.evil"}, "a look-alike site's origin"),
        ({"rp_id": "evil.example"}, "another relying party"),
    ],
)
def test_registration_refuses_a_response_made_for_another_site(
    lincoln: Organization, create: dict[str, str], reason: str
) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    client = reauthenticated(sign_in(Client(), user))
    response = register(client, authenticator(), **create)
    assert response.status_code == 400, reason
    assert "could not be verified" in response.content.decode()
    assert not WebAuthnCredential.objects.exists()
    assert [e.changes["stage"] for e in events("mfa.verification_failed")] == ["enrolment"]


def test_a_registration_challenge_is_single_use(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    client = reauthenticated(sign_in(Client(), user))
    key = authenticator()
    created = key.create(options(client, REGISTER))
    assert client.post(REGISTER, {"name": "Key", "credential": created}).status_code == 200
    assert WebAuthnCredential.objects.count() == 1
    replayed = client.post(REGISTER, {"name": "Key again", "credential": created})
    assert replayed.status_code == 400
    assert "No passkey request is pending" in replayed.content.decode()
    assert WebAuthnCredential.objects.count() == 1


def test_registration_explains_bad_input_without_a_server_error(lincoln: Organization) -> None:
    client = reauthenticated(sign_in(Client(), member(lincoln, Role.ORG_ADMIN)))
    options(client, REGISTER)
    missing = client.post(REGISTER, {"name": "", "credential": ""})
    assert missing.status_code == 400
    assert "Give the passkey a name" in missing.content.decode()
    assert "did not create a passkey" in missing.content.decode()
    for junk in ["not json", "[1, 2]", '{"id": 5}', "[" * 5000, json.dumps({"id": "x"})]:
        options(client, REGISTER)
        response = client.post(REGISTER, {"name": "Key", "credential": junk})
        assert response.status_code == 400, junk[:20]
        assert 'role="alert"' in response.content.decode()
    assert not WebAuthnCredential.objects.exists()


def test_adding_a_passkey_to_a_verified_account_asks_for_the_password_again(
    lincoln: Organization,
) -> None:
    client = sign_in(Client(), member(lincoln, Role.ORG_ADMIN))
    response = client.get(REGISTER)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_a_passkey_can_be_the_first_factor_and_comes_with_recovery_codes(
    lincoln: Organization,
) -> None:
    user = member(lincoln, Role.PRIVACY_OFFICER)  # the default policy requires MFA
    client = password_only(user)
    assert client.get(HOME)["Location"].startswith("/accounts/mfa/enrol/")
    assert REGISTER in client.get("/accounts/mfa/enrol/").content.decode()
    assert client.get(REGISTER).status_code == 200  # open during enrolment, no re-auth
    response = register(client, authenticator())
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", response.content.decode())
    assert len(codes) == 10 and RecoveryCode.objects.filter(device__user=user).count() == 10
    assert verified_by(client).startswith("accounts.webauthncredential/")
    assert client.get(HOME).status_code == 200
    assert User.objects.filter(pk=user.pk).annotate(mfa=has_second_factor()).get().mfa


# --- the second step ------------------------------------------------------------------------


def test_a_passkey_is_the_second_step_after_the_password(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    TOTPDevice.objects.filter(user=user).delete()  # passkey only
    client = password_only(user)
    assert client.get(HOME)["Location"] == "/accounts/mfa/verify/?next=%2Fo%2Flincoln-usd%2F"
    page = client.get("/accounts/mfa/verify/?next=/o/lincoln-usd/").content.decode()
    assert f'href="{VERIFY}?next=/o/lincoln-usd/"' in page.replace("%2F", "/")
    assert client.get(VERIFY).status_code == 200
    # before the second step, no factor can be added (nor a challenge for one handed out)
    assert client.get(REGISTER)["Location"].startswith("/accounts/mfa/verify/?next=")
    assert client.post(f"{REGISTER}options/")["Location"] == "/accounts/mfa/verify/"

    opts = options(client, VERIFY)
    passkey = WebAuthnCredential.objects.get(user=user)
    assert [c["id"] for c in opts["allowCredentials"]] == [passkey.credential_id]
    response = client.post(VERIFY, {"credential": key.get(opts), "next": HOME})
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert verified_by(client) == passkey.persistent_id


def test_an_assertion_cannot_be_replayed(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    first = password_only(user)
    assertion = key.get(options(first, VERIFY))
    assert first.post(VERIFY, {"credential": assertion}).status_code == 302

    second = password_only(user)
    # no challenge pending in this session
    refused = second.post(VERIFY, {"credential": assertion})
    assert refused.status_code == 400 and "No passkey request" in refused.content.decode()
    # a fresh challenge, but the old response was signed over the old one
    options(second, VERIFY)
    refused = second.post(VERIFY, {"credential": assertion})
    assert refused.status_code == 400 and "could not be verified" in refused.content.decode()
    assert second.get(HOME).status_code == 302
    assert [e.changes["reason"] for e in events("mfa.verification_failed")] == ["invalid_assertion"]


def test_a_counter_that_goes_backwards_is_refused_as_a_cloned_key(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    assert verify(password_only(user), key, counter=7).status_code == 302
    clone = password_only(user)
    response = verify(clone, key, counter=7)  # the same counter again: a copy of the key
    assert response.status_code == 400 and "copied" in response.content.decode()
    assert clone.get(HOME).status_code == 302
    assert WebAuthnCredential.objects.get(user=user).sign_count == 7
    passkey_id = WebAuthnCredential.objects.get(user=user).pk
    assert [e.changes for e in events("mfa.passkey_clone_suspected")] == [
        {"passkey_id": passkey_id, "stored_sign_count": 7, "presented_sign_count": 7}
    ]
    assert verify(password_only(user), key, counter=8).status_code == 302


def test_a_forged_signature_or_a_foreign_origin_is_refused(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    for kwargs in [{"tamper": True}, {"origin": "https://lincoln-usd.example"}]:
        client = password_only(user)
        response = verify(client, key, **kwargs)
        assert response.status_code == 400 and client.get(HOME).status_code == 302
    assert events("mfa.passkey_clone_suspected") == []  # a forgery raises no clone alarm


def test_another_users_passkey_does_not_verify_this_user(lincoln: Organization) -> None:
    alice = member(lincoln, Role.ORG_ADMIN)
    bob = member(lincoln, Role.ORG_ADMIN)
    with_passkey(alice)
    bobs_key = with_passkey(bob)
    response = verify(password_only(alice), bobs_key)
    assert (
        response.status_code == 400
        and "not registered to your account" in response.content.decode()
    )
    assert [e.target_id for e in events("mfa.verification_failed")] == [str(alice.pk)]


# --- the organization's passkey policy ------------------------------------------------------


def _require_passkeys(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(mfa_require_passkey_for_admins=True)


def test_admin_turns_on_the_passkey_requirement_and_it_is_audited(lincoln: Organization) -> None:
    client = sign_in(Client(), member(lincoln, Role.ORG_ADMIN))
    url = reverse("accounts:mfa_policy", kwargs={"org_slug": "lincoln-usd"})
    page = client.get(url).content.decode()
    assert 'name="mfa_require_passkey_for_admins"' in page
    response = client.post(
        url, {"mfa_policy": "privileged", "mfa_require_passkey_for_admins": "on"}
    )
    assert response["Location"] == url
    lincoln.refresh_from_db()
    assert lincoln.mfa_require_passkey_for_admins and not lincoln.passkey_sign_in_allowed
    with tenant_context(lincoln):
        changed = list(AuditEvent.objects.filter(action="security.mfa_policy_changed"))
    assert [(e.organization_id, e.changes) for e in changed] == [
        (lincoln.pk, {"mfa_require_passkey_for_admins": [False, True]})
    ]


@pytest.mark.parametrize(
    ("role", "held"),
    [
        (Role.ORG_ADMIN, True),
        (Role.PRIVACY_OFFICER, True),
        (Role.PRIVACY_STAFF, False),
        (Role.VIEWER, False),
    ],
)
def test_a_code_is_not_enough_for_admins_when_passkeys_are_required(
    lincoln: Organization, role: Role, held: bool
) -> None:
    _require_passkeys(lincoln)
    client = sign_in(Client(), member(lincoln, role))  # verified with an authenticator code
    response = client.get(HOME)
    if held:
        assert response["Location"] == f"{REGISTER}?next=%2Fo%2Flincoln-usd%2F"
        assert client.get("/api/v1/orgs/").json()["code"] == "passkey_enrolment_required"
        assert client.get("/accounts/profile/")["Location"].startswith(REGISTER)
    else:
        assert response.status_code == 200


def test_an_admin_with_only_a_code_registers_a_passkey_then_must_use_it(
    lincoln: Organization,
) -> None:
    _require_passkeys(lincoln)
    user = member(lincoln, Role.ORG_ADMIN)
    client = sign_in(Client(), user)
    # the password is asked again before the factor is added (a phished code is not enough)
    assert client.get(REGISTER)["Location"].startswith(reverse("account_reauthenticate"))
    reauthenticated(client)
    key = authenticator()
    assert register(client, key).status_code == 200  # first passkey: recovery codes shown
    assert client.get(HOME).status_code == 200

    # next sign-in: password and authenticator code, then the passkey is still asked for
    coded = sign_in(Client(), user)
    assert coded.get(HOME)["Location"] == f"{VERIFY}?next=%2Fo%2Flincoln-usd%2F"
    page = coded.get(VERIFY).content.decode()
    assert "requires a passkey" in page and "/accounts/mfa/verify/?next" not in page
    assert coded.get(REGISTER)["Location"].startswith(VERIFY)  # no adding a second one first
    assert coded.get("/api/v1/orgs/").json()["code"] == "passkey_required"
    assert verify(coded, key).status_code == 302
    assert coded.get(HOME).status_code == 200

    # an unverified session goes straight to the passkey, not the code form
    fresh = password_only(user)
    assert fresh.get("/accounts/mfa/verify/?next=/o/")["Location"] == f"{VERIFY}?next=%2Fo%2F"


# --- removal --------------------------------------------------------------------------------


def test_removing_a_passkey_needs_reauthentication_and_is_audited(lincoln: Organization) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    with_passkey(user)
    passkey = WebAuthnCredential.objects.get(user=user)
    url = f"/accounts/mfa/passkeys/{passkey.pk}/remove/"
    client = sign_in(Client(), user)
    overview = client.get("/accounts/mfa/").content.decode()
    assert "YubiKey" in overview and url in overview
    assert client.post(url)["Location"].startswith(reverse("account_reauthenticate"))
    reauthenticated(client)
    assert "YubiKey" in client.get(url).content.decode()
    assert client.post(url)["Location"] == "/accounts/mfa/"
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert [e.changes for e in events("mfa.passkey_removed")] == [
        {"passkey_id": passkey.pk, "remaining": 0}
    ]
    # someone else's passkey id: nothing happens
    other = member(lincoln, Role.ORG_ADMIN)
    with_passkey(other)
    foreign = WebAuthnCredential.objects.get(user=other).pk
    assert client.post(f"/accounts/mfa/passkeys/{foreign}/remove/").status_code == 302
    assert WebAuthnCredential.objects.filter(pk=foreign).exists()


def test_the_last_passkey_cannot_be_removed_when_the_role_requires_one(
    lincoln: Organization,
) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    _require_passkeys(lincoln)
    client = sign_in(Client(), user)
    assert verify(client, key).status_code == 302
    reauthenticated(client)
    passkey = WebAuthnCredential.objects.get(user=user)
    response = client.post(f"/accounts/mfa/passkeys/{passkey.pk}/remove/", follow=True)
    assert "requires a passkey for your role" in response.content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert events("mfa.passkey_removed") == []


def test_turning_mfa_off_removes_passkeys_too(settings: Any) -> None:
    org = OrganizationFactory(slug="lincoln-usd", mfa_policy=Organization.MfaPolicy.NOBODY)
    user = member(org, Role.VIEWER)
    with_passkey(user)
    client = reauthenticated(sign_in(Client(), user))
    assert client.post("/accounts/mfa/disable/")["Location"] == "/accounts/mfa/"
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert events("mfa.removed")[0].changes == {"method": "totp", "devices": 1, "passkeys": 1}


# --- password-less sign-in ------------------------------------------------------------------


def test_a_passkey_signs_in_without_a_password_where_the_organization_allows_it(
    lincoln: Organization,
) -> None:
    user = member(lincoln, Role.PRIVACY_OFFICER)
    key = with_passkey(user)
    client = Client()
    assert "Sign in with a passkey" in client.get(reverse("account_login")).content.decode()
    assert client.get(SIGN_IN).status_code == 200
    opts = options(client, SIGN_IN)
    assert opts["allowCredentials"] == [] and opts["userVerification"] == "required"
    refused = client.post(SIGN_IN, {"credential": key.get(opts)})
    assert (
        refused.status_code == 400 and "cannot sign you in on its own" in refused.content.decode()
    )
    assert "_auth_user_id" not in client.session

    Organization.objects.filter(pk=lincoln.pk).update(passkey_sign_in_allowed=True)
    response = verify(client, key, url=SIGN_IN)
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(HOME).status_code == 200  # signed in and second-factor verified
    assert [e.target_id for e in events("auth.signed_in")][-1] == str(user.pk)


def test_password_less_sign_in_needs_user_verification_and_every_organization(
    lincoln: Organization,
) -> None:
    Organization.objects.filter(pk=lincoln.pk).update(passkey_sign_in_allowed=True)
    hudson = OrganizationFactory(slug="hudson-csd")
    user = member(lincoln, Role.ORG_ADMIN, email="two@example.org")
    key = with_passkey(user)
    key.user_verified = False  # touched, but no PIN or biometric
    client = Client()
    assert verify(client, key, url=SIGN_IN).status_code == 400
    key.user_verified = True
    member(hudson, Role.VIEWER, email="two@example.org")  # hudson does not allow it
    assert verify(client, key, url=SIGN_IN).status_code == 400
    assert "_auth_user_id" not in client.session


def test_passkey_requirement_is_met_by_password_less_sign_in(lincoln: Organization) -> None:
    Organization.objects.filter(pk=lincoln.pk).update(
        passkey_sign_in_allowed=True, mfa_require_passkey_for_admins=True
    )
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    client = Client()
    assert verify(client, key, url=SIGN_IN).status_code == 302
    assert client.get(HOME).status_code == 200


def test_ops_staff_can_remove_a_persons_passkey_in_the_admin_and_it_is_audited(
    lincoln: Organization,
) -> None:
    from accounts.tests.factories import UserFactory

    user = member(lincoln, Role.ORG_ADMIN)
    with_passkey(user)
    passkey = WebAuthnCredential.objects.get(user=user)
    ops = UserFactory.create(is_staff=True, is_superuser=True)
    client = sign_in(Client(), ops)
    assert client.get(reverse("admin:accounts_webauthncredential_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_webauthncredential_add")).status_code == 403
    url = reverse("admin:accounts_webauthncredential_delete", args=[passkey.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    [event] = events("mfa.passkey_removed")
    assert event.changes == {"passkey_id": passkey.pk, "by_ops": True}
    assert (event.actor_user_id, event.target_id) == (ops.pk, str(user.pk))


# --- pages: exact query counts that do not grow with the number of passkeys -----------------

# Every signed-in page: session, user, a savepoint with the tenancy context's settings, its
# release, the settings' reset (5). Then each page's own reads.
QUERIES = {
    VERIFY: 8,  # the middleware's "has a second factor", "has a passkey", memberships
    # the session's passkey (django-otp), the app, all passkeys in one query, recovery codes
    # (device and count), memberships
    "/accounts/mfa/": 11,
    REGISTER: 7,  # the session's passkey, memberships
    SIGN_IN: 3,  # anonymous, no session yet: the savepoint with the settings, release, reset
}


@pytest.mark.parametrize("passkeys", [1, 3])
def test_passkey_pages_have_a_fixed_query_count(
    lincoln: Organization, passkeys: int, django_assert_num_queries: Any
) -> None:
    user = member(lincoln, Role.ORG_ADMIN)
    key = with_passkey(user)
    for _ in range(passkeys - 1):
        with_passkey(user)
    client = password_only(user)
    with django_assert_num_queries(QUERIES[VERIFY]):
        assert client.get(VERIFY).status_code == 200
    assert verify(client, key).status_code == 302
    with django_assert_num_queries(QUERIES["/accounts/mfa/"]):
        page = client.get("/accounts/mfa/").content.decode()
    assert page.count("/remove/") == passkeys
    reauthenticated(client)
    with django_assert_num_queries(QUERIES[REGISTER]):
        assert client.get(REGISTER).status_code == 200
    with django_assert_num_queries(QUERIES[SIGN_IN]):
        assert Client().get(SIGN_IN).status_code == 200


def test_a_member_with_only_a_passkey_counts_as_having_two_step_verification(
    lincoln: Organization,
) -> None:
    from accounts.selectors import member_list

    user = member(lincoln, Role.VIEWER)
    with_passkey(user)
    TOTPDevice.objects.filter(user=user).delete()
    with tenant_context(lincoln):
        membership = member_list(organization=lincoln).get(user=user)
    assert membership.has_mfa is True  # type: ignore[attr-defined]  # an annotation
