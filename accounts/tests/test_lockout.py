"""Lockout after repeated failed sign-ins (django-axes), its page, cool-off and unlock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import TEST_PASSWORD, OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
EMAIL = "casey@lincoln.example"
WRONG_PASSWORD = "wrong-password-123"


def events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def casey(org: Organization) -> User:
    user = member(org, Role.PRIVACY_STAFF, email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    return user


def attempt(client: Client, email: str = EMAIL, password: str = WRONG_PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def fail(client: Client, times: int, email: str = EMAIL) -> None:
    """`times` failed sign-ins (the one reaching the limit answers 429)."""
    for _ in range(times):
        assert attempt(client, email).status_code in {200, 429}


def test_five_failures_lock_the_account_with_a_clear_page(casey: User, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client).status_code == 200
    response = attempt(client)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in is locked for now" in body
    assert "unlocks by itself in" in body
    assert "administrator can unlock" in body
    # the right password is refused while locked: the backend never checks it
    response = attempt(client, password=TEST_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lock_is_per_account_and_case_insensitive(casey: User, org: Organization) -> None:
    other = member(org, Role.VIEWER, email="other@lincoln.example")
    EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
    client = Client()
    fail(client, 4, email="Casey@Lincoln.example")
    assert attempt(client, email=" CASEY@lincoln.example").status_code == 429
    # the same browser and address can still sign another account in
    response = attempt(client, email="other@lincoln.example", password=TEST_PASSWORD)
    assert response.status_code == 302


def test_unknown_address_locks_the_same_way(db: None) -> None:
    # no enumeration: an address without an account gets the same answer
    client = Client()
    fail(client, 4, email="nobody@example.org")
    assert attempt(client, email="nobody@example.org").status_code == 429


def test_cool_off_unlocks_by_itself(casey: User) -> None:
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, 4)
        assert attempt(client).status_code == 429
        clock.shift(timedelta(minutes=14))
        # an attempt during the lock does not extend it
        assert attempt(client, password=TEST_PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=1, seconds=1))
        assert attempt(client, password=TEST_PASSWORD).status_code == 302
    # a success clears the failures
    assert not AccessAttempt.objects.filter(username=EMAIL).exists()


def test_audit_one_event_per_failure_and_one_per_lock(casey: User) -> None:
    client = Client()
    fail(client, 4)
    attempt(client)  # the fifth failure locks
    attempt(client)  # refused while locked
    failed = events(Action.SIGN_IN_FAILED)
    assert len(failed) == 6
    assert all(e.organization_id is None for e in failed)
    assert [e.changes for e in failed[:5]] == [{"account_exists": True}] * 5
    assert failed[5].changes == {"account_exists": True, "while_locked_out": True}
    assert failed[0].target_id == str(casey.pk)
    locked = events(Action.LOCKED_OUT)
    assert len(locked) == 1
    assert locked[0].changes == {"account_exists": True, "failures": 5}
    # no email anywhere in the audit trail
    assert all(EMAIL not in str(e.changes) for e in failed + locked)


def test_failure_for_an_unknown_address_records_no_target(db: None) -> None:
    attempt(Client(), email="nobody@example.org")
    (event,) = events(Action.SIGN_IN_FAILED)
    assert event.changes == {"account_exists": False}
    assert event.target_id == ""


def test_stored_attempt_does_not_keep_the_typed_email_or_password(casey: User) -> None:
    attempt(Client())
    stored = AccessAttempt.objects.get(username=EMAIL)
    assert "wrong-password" not in stored.post_data
    assert EMAIL not in stored.post_data


def admin_client(org: Organization) -> Client:
    admin = member(org, Role.ORG_ADMIN, email="admin@lincoln.example")
    return sign_in(Client(), admin)


def membership_id(user: User, org: Organization) -> int:
    with tenant_context(org):
        return Membership.objects.get(user=user).pk


def unlock_url(org: Organization, membership_pk: int) -> str:
    return reverse(
        "accounts:member_unlock", kwargs={"org_slug": org.slug, "membership_id": membership_pk}
    )


def test_admin_unlocks_a_member(casey: User, org: Organization) -> None:
    client = Client()
    fail(client, 5)
    assert attempt(client, password=TEST_PASSWORD).status_code == 429
    admin = admin_client(org)
    casey_membership = membership_id(casey, org)
    detail = reverse(
        "accounts:member_detail", kwargs={"org_slug": org.slug, "membership_id": casey_membership}
    )

    response = admin.post(unlock_url(org, casey_membership))
    assert response.status_code == 302
    assert response["Location"] == detail
    assert attempt(client, password=TEST_PASSWORD).status_code == 302
    (event,) = events(Action.UNLOCKED)
    assert event.organization_id == org.pk
    assert event.target_type == "accounts.membership"
    assert event.target_id == str(casey_membership)
    assert event.changes == {"attempt_records_cleared": 1}


def test_unlocking_an_unlocked_member_records_nothing(casey: User, org: Organization) -> None:
    admin = admin_client(org)
    response = admin.post(unlock_url(org, membership_id(casey, org)), follow=True)
    assert "was not locked out" in response.content.decode()
    assert events(Action.UNLOCKED) == []


def test_unlock_is_limited_to_members_of_the_organization(casey: User, org: Organization) -> None:
    other_org = OrganizationFactory(slug="hudson-csd")
    stranger = member(other_org, Role.VIEWER, email="stranger@hudson.example")
    Client().post(LOGIN, {"login": stranger.email, "password": "x"})
    admin = admin_client(org)
    # a membership of another organization is not found, and nothing is cleared
    response = admin.post(unlock_url(org, membership_id(stranger, other_org)))
    assert response.status_code == 404
    assert AccessAttempt.objects.filter(username=stranger.email).exists()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ORG_ADMIN])
def test_only_admins_unlock(casey: User, org: Organization, role: Role) -> None:
    fail(Client(), 5)
    user = member(org, role, email=f"{role.value}@lincoln.example")
    response = sign_in(Client(), user).post(unlock_url(org, membership_id(casey, org)))
    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username=EMAIL).exists()


def test_member_detail_partial_shows_the_lock_and_the_button(
    casey: User, org: Organization
) -> None:
    from django.template.loader import render_to_string

    with tenant_context(org):
        casey_membership = Membership.objects.select_related("user").get(user=casey)
    context = {"membership": casey_membership, "organization": org, "allowed": {"members.manage"}}
    assert "Not locked." in render_to_string("accounts/members/_lockout.html", context)
    fail(Client(), 2)
    assert "2 recent failed sign-ins" in render_to_string("accounts/members/_lockout.html", context)
    fail(Client(), 3)
    html = render_to_string("accounts/members/_lockout.html", context)
    assert "Locked after repeated failed sign-ins" in html
    assert unlock_url(org, casey_membership.pk) in html
    context["allowed"] = set()
    assert "Unlock sign-in now" not in render_to_string("accounts/members/_lockout.html", context)


def test_password_reset_lifts_the_lock(casey: User) -> None:
    from allauth.account.internal.flows.password_reset import finalize_password_reset
    from django.test import RequestFactory

    fail(Client(), 5)
    request = RequestFactory().post("/accounts/password/reset/key/done/")
    request.session = Client().session
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    finalize_password_reset(request, casey)
    assert not AccessAttempt.objects.filter(username=EMAIL).exists()
    (event,) = events(Action.PASSWORD_RESET)
    assert event.changes == {"sessions_ended": 0, "lockout_cleared": True}


def test_the_source_address_is_throttled_across_accounts(db: None, settings) -> None:
    from django.core.cache import cache

    cache.clear()  # allauth counts in the cache (this run's own Redis database)
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "20/m/ip"}
    client = Client()
    for number in range(20):  # 20 different addresses: no account reaches its own limit
        assert attempt(client, email=f"guess{number}@example.org").status_code == 200
    response = attempt(client, email="guess-next@example.org")
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    # another source address is not affected
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert "Too many" not in attempt(other, email="guess-next@example.org").content.decode()


def test_behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit(db: None, settings) -> None:
    """The per-address limit reads the client's address like every other limit
    (k12cloud.client_ip), not the load balancer's: one client's failures cannot use up
    everyone's sign-ins."""
    from django.core.cache import cache

    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def through_the_proxy(client_address: str) -> Client:
        return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=client_address)

    attacker = through_the_proxy("203.0.113.7")
    for number in range(3):
        assert attempt(attacker, email=f"guess{number}@example.org").status_code == 200
    refused = attempt(attacker, email="guess-next@example.org")
    assert "Too many failed login attempts" in refused.content.decode()
    colleague = through_the_proxy("198.51.100.20")
    response = attempt(colleague, email="guess-next@example.org")
    assert "Too many" not in response.content.decode()
