"""The ops admin has one way in: the portal's sign-in (its per-address throttle, its per-account
lockout and its uniform refusal), then the second step, then is_staff at the admin."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from axes.models import AccessAttempt
from django.test import Client
from django.utils.http import urlencode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.permissions import Role
from accounts.tests.factories import (
    TEST_PASSWORD,
    OrganizationFactory,
    UserFactory,
    member,
    sign_in,
)
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import unscoped_all_tenants

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
LOGIN = "/accounts/login/"
PORTAL_LOGIN_FOR_ADMIN = f"{LOGIN}?{urlencode({'next': '/admin/'})}"
WRONG = "wrong-password-123"
# allauth's per-address limit on failed sign-ins, as in k12cloud.settings.base (the test settings
# switch rate limits off; the tests below switch them back on)
RATE_LIMITS = {"login_failed": "20/m/ip"}
NOW = datetime(2026, 3, 2, 15, 0, 10, tzinfo=UTC)


def events(action: Action) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return list(AuditEvent.objects.filter(action=action.value).order_by("pk"))


def with_address(user: User) -> User:
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def ops() -> User:
    return with_address(UserFactory(email="ops@k12.example", is_staff=True, is_superuser=True))


@pytest.fixture
def casey() -> User:
    """A portal member, not ops staff."""
    org = OrganizationFactory(slug="lincoln-usd")
    return with_address(member(org, Role.PRIVACY_STAFF, email="casey@lincoln.example"))


def fresh_address() -> str:
    """A source address no earlier test counted against (allauth counts in Redis for a minute;
    clearing the cache would also wipe the counts of the other xdist workers)."""
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def portal_attempt(client: Client, email: str, password: str = WRONG) -> Any:
    return client.post(PORTAL_LOGIN_FOR_ADMIN, {"login": email, "password": password})


def test_the_admin_sends_sign_in_to_the_portal_with_the_page_asked_for(db: None) -> None:
    client = Client()
    assert client.get("/admin/")["Location"] == f"{ADMIN_LOGIN}?next=/admin/"
    response = client.get(f"{ADMIN_LOGIN}?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == PORTAL_LOGIN_FOR_ADMIN
    assert response["Cache-Control"].startswith("max-age=0, no-cache, no-store")
    deep = "/admin/accounts/organization/?q=x"
    assert client.get(ADMIN_LOGIN, {"next": deep})["Location"] == (
        f"{LOGIN}?{urlencode({'next': deep})}"
    )
    # only pages of the admin: anything else leads to the admin's index
    for elsewhere in ["https://evil.example/admin/", "//evil.example/", "/o/lincoln-usd/", ""]:
        assert client.get(ADMIN_LOGIN, {"next": elsewhere})["Location"] == PORTAL_LOGIN_FOR_ADMIN


def test_passwords_posted_to_the_admin_are_never_checked(ops: User, casey: User) -> None:
    """The review's 40 guesses from one address, with the right passwords among them: each is
    answered alike, none signs in, counts towards a lockout, or tells right from wrong."""
    client = Client(REMOTE_ADDR=fresh_address())
    guesses = [(f"guess{n}@k12.example", WRONG) for n in range(36)]
    # a member who is not staff: Django's admin form let a right password through uncounted
    guesses += [(casey.email, WRONG), (casey.email, TEST_PASSWORD), (casey.email, WRONG)]
    guesses += [(ops.email, TEST_PASSWORD)]
    answers = set()
    for email, password in guesses:
        response = client.post(ADMIN_LOGIN, {"username": email, "password": password})
        answers.add((response.status_code, response.get("Location")))
    assert answers == {(302, f"{LOGIN}?next=%2Fadmin%2F")}
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()
    assert events(Action.SIGN_IN_FAILED) == []


def test_forty_sign_ins_to_the_admin_from_one_address_are_throttled(
    ops: User, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = RATE_LIMITS
    client = Client(REMOTE_ADDR=fresh_address())
    answers = []
    for number in range(39):  # 39 addresses: no account reaches its own lockout
        response = portal_attempt(client, f"guess{number}@k12.example")
        body = response.content.decode()
        if "Too many failed login attempts" in body:
            answers.append("throttled")
        elif response.status_code == 429:  # allauth's limit on all sign-in posts (30/m/ip)
            answers.append("429")
        else:
            assert "not correct" in body
            answers.append("wrong")
    assert answers[:20] == ["wrong"] * 20
    assert set(answers[20:]) <= {"throttled", "429"} and answers[20] == "throttled"
    # the 40th, the ops account with its right password, is refused like the others
    response = portal_attempt(client, ops.email, TEST_PASSWORD)
    assert response.status_code in {200, 429}
    assert "not correct" not in response.content.decode()
    assert "_auth_user_id" not in client.session
    # the limit is the source address's, not a lockout of the ops account
    other = Client(REMOTE_ADDR=fresh_address())
    assert portal_attempt(other, ops.email, TEST_PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_throttle_counts_each_client(db: None, settings: Any) -> None:
    """allauth's own address lookup saw only the proxy: one district's typos would have
    throttled sign-in for every district. The client address is k12cloud.client_ip's."""
    settings.ACCOUNT_RATE_LIMITS = RATE_LIMITS
    proxy = fresh_address()
    settings.TRUSTED_PROXIES = [f"{proxy}/32"]
    first, second = fresh_address(), fresh_address()
    while second == first:  # pragma: no cover - one chance in 65,000
        second = fresh_address()
    guesser = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=first)
    for number in range(20):
        assert "not correct" in portal_attempt(guesser, f"g{number}@k12.example").content.decode()
    assert "Too many" in portal_attempt(guesser, "g20@k12.example").content.decode()
    neighbour = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=second)
    assert "not correct" in portal_attempt(neighbour, "n@k12.example").content.decode()
    # a forged header from an untrusted peer is ignored: the peer itself is counted
    forger = Client(REMOTE_ADDR=first, HTTP_X_FORWARDED_FOR=second)
    assert "Too many" in portal_attempt(forger, "f@k12.example").content.decode()


def test_after_a_lockout_the_right_password_gets_the_same_answer_as_a_wrong_one(
    ops: User,
) -> None:
    client = Client(REMOTE_ADDR=fresh_address())
    for _ in range(5):  # AXES_FAILURE_LIMIT
        portal_attempt(client, ops.email)

    def answer(password: str) -> tuple[int, str]:
        response = portal_attempt(client, ops.email, password)
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return response.status_code, body

    assert answer(TEST_PASSWORD) == answer(WRONG) == answer(TEST_PASSWORD)
    assert answer(WRONG)[0] == 429
    assert "_auth_user_id" not in client.session
    # nor does the old admin form open a way around the lock
    client.post(ADMIN_LOGIN, {"username": ops.email, "password": TEST_PASSWORD})
    assert "_auth_user_id" not in client.session


def test_ops_staff_reach_the_admin_through_the_portal_and_the_second_step(ops: User) -> None:
    device = TOTPDevice.objects.create(user=ops, name="Authenticator app")
    client = Client()
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/accounts/organization/", follow=True)
        assert response.redirect_chain[-1][0] == (
            f"{LOGIN}?next=%2Fadmin%2Faccounts%2Forganization%2F"
        )
        response = client.post(
            response.redirect_chain[-1][0],
            {"login": ops.email, "password": TEST_PASSWORD},
            follow=True,
        )
        verify_url = response.redirect_chain[-1][0]
        assert verify_url == "/accounts/mfa/verify/?next=%2Fadmin%2Faccounts%2Forganization%2F"
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        response = client.post(
            verify_url, {"code": f"{totp.token():06d}", "next": "/admin/accounts/organization/"}
        )
        assert response["Location"] == "/admin/accounts/organization/"
        assert client.get("/admin/accounts/organization/").status_code == 200
        # signed in and verified, the admin's sign-in page leads straight on
        assert client.get(ADMIN_LOGIN, {"next": "/admin/audit/"})["Location"] == "/admin/audit/"


def test_a_signed_in_member_is_told_the_admin_is_for_ops_staff(casey: User) -> None:
    client = sign_in(Client(), casey)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain == [(f"{ADMIN_LOGIN}?next=/admin/", 302)]
    assert response.status_code == 403
    assert "Operations staff only" in response.content.decode()
