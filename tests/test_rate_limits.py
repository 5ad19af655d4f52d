"""Every rate limit counts and checks in one atomic step (k12cloud.rate_limits).

The races are real: threads released together by a barrier, each with its own database
connection and its own Django test client, posting the real views, whose transactions commit
(`transaction=True`), against the real Redis of this run. A check followed by a separate
"count" lets every racer through; one atomic step admits exactly the limit.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Organization
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from k12cloud.rate_limits import (
    rate_limit_hit,
    rate_limit_key,
    rate_limit_refund,
    rate_limit_reset,
)
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.intake import pow
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import JurisdictionRule
from privacy_requests.tests.conftest import reference_migration
from privacy_requests.tests.factories import received_request

RACERS = 15
LIMIT = 5


def race(post: Callable[[], int]) -> list[int]:
    """Run `post` in RACERS threads released at once; their status codes."""
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def racer() -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(post())
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(statuses) == RACERS
    return statuses


def an_address() -> str:
    # a fresh address per test: the counters live in Redis, beyond the test database
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def requests_of(organization: Organization) -> list[PrivacyRequest]:
    with tenant_context(organization):
        return list(PrivacyRequest.objects.all())


# --- the primitive --------------------------------------------------------------------------


def test_a_window_admits_the_limit_then_says_when_to_come_back() -> None:
    key = rate_limit_key("test", an_address())
    decisions = [rate_limit_hit(key, limit=3, window=60) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.count for d in decisions] == [1, 2, 3, 3, 3]  # a refused hit is not counted
    assert all(0 < d.retry_after <= 60 for d in decisions[3:])
    assert all(d.retry_after == 0 for d in decisions[:3])
    rate_limit_refund(key)
    assert rate_limit_hit(key, limit=3, window=60).allowed
    rate_limit_reset(key)
    assert rate_limit_hit(key, limit=3, window=60).count == 1


def test_a_refund_never_goes_below_zero() -> None:
    key = rate_limit_key("test", an_address())
    rate_limit_refund(key)
    rate_limit_refund(key)
    assert [rate_limit_hit(key, limit=1, window=60).allowed for _ in range(2)] == [True, False]


def test_the_key_holds_no_address() -> None:
    address = an_address()
    key = rate_limit_key("public-form:intake", 7, address)
    assert address not in key and key.startswith("rate:public-form:intake:")


def test_concurrent_hits_on_the_primitive_admit_exactly_the_limit() -> None:
    key = rate_limit_key("test", an_address())
    statuses = race(lambda: 200 if rate_limit_hit(key, limit=LIMIT, window=60).allowed else 429)
    assert sorted(statuses).count(200) == LIMIT


# --- the views, raced -----------------------------------------------------------------------


@pytest.fixture
def org(transactional_db: None) -> Organization:
    if not JurisdictionRule.objects.exists():  # the deadline rules, flushed by other tests
        reference_migration.load(apps, None)
    return OrganizationFactory(slug=f"race-{secrets.token_hex(3)}", subdivision="OR")


def intake_form(organization: Organization, address: str) -> Callable[[], int]:
    def post() -> int:
        data = {
            "request_type": "access",
            "relationship": "parent",
            "requester_name": "Rosa Delgado",
            "requester_email": "rosa@example.org",
            "subject_name": "Mateo Delgado",
            "subject_birth_date": "2015-04-02",
            "altcha": pow.solve(pow.challenge_create()),
        }
        return Client(REMOTE_ADDR=address).post(f"/privacy/{organization.slug}/", data).status_code

    return post


def test_concurrent_public_submissions_from_one_address_accept_exactly_the_limit(
    org: Organization, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = LIMIT
    statuses = race(intake_form(org, an_address()))
    assert sorted(statuses) == [302] * LIMIT + [429] * (RACERS - LIMIT)
    assert len(requests_of(org)) == LIMIT


def test_concurrent_link_requests_from_one_address_accept_exactly_the_limit(
    org: Organization, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = LIMIT
    privacy_request = received_request(org, requester_email="rosa@example.org", channel="web")
    address = an_address()

    def post() -> int:
        return (
            Client(REMOTE_ADDR=address)
            .post(
                f"/privacy/{org.slug}/status/",
                {"email": "rosa@example.org", "reference": privacy_request.reference},
            )
            .status_code
        )

    statuses = race(post)
    assert sorted(statuses) == [200] * LIMIT + [429] * (RACERS - LIMIT)
    assert len(mail.outbox) == LIMIT  # one link per accepted request, none past the limit


def test_concurrent_api_intakes_with_one_key_accept_exactly_the_rate(
    org: Organization, settings: Any
) -> None:
    settings.PRIVACY_INTAKE_API_RATE = f"{LIMIT}/minute"
    admin = member(org, Role.ORG_ADMIN)
    with unscoped_all_tenants(reason="test creates the key its threads use"):
        created = api_key_create(
            organization=org, user=admin, name="SIS", role=Role.PRIVACY_STAFF, expires_at=None
        )
    url = reverse("accounts_api:request_intake", kwargs={"org_slug": org.slug})
    body = {
        "request_type": "access",
        "relationship": "parent",
        "requester_name": "Rosa Parent",
        "requester_email": "rosa@example.org",
    }

    def post() -> int:
        client = Client(headers={"Authorization": f"Bearer {created.token}"})
        return client.post(url, body, content_type="application/json").status_code

    statuses = race(post)
    assert sorted(statuses) == [201] * LIMIT + [429] * (RACERS - LIMIT)
    assert len(requests_of(org)) == LIMIT


# --- the sign-in lockout (django-axes), raced ---------------------------------------------


def test_concurrent_wrong_passwords_for_one_account_check_at_most_the_failure_limit(
    transactional_db: None, settings: Any
) -> None:
    from allauth.account.models import EmailAddress
    from axes.models import AccessAttempt

    from accounts.tests.factories import TEST_PASSWORD

    settings.ACCOUNT_RATE_LIMITS = False  # the per-address limit would hide the per-account one
    org = OrganizationFactory(slug=f"race-{secrets.token_hex(3)}")
    email = f"casey-{secrets.token_hex(3)}@lincoln.example"
    user = member(org, Role.PRIVACY_STAFF, email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)

    def post() -> int:
        client = Client(REMOTE_ADDR=an_address())
        response = client.post("/accounts/login/", {"login": email, "password": "wrong-guess-1"})
        return response.status_code

    statuses = race(post)
    # each guess checked against the password counts as a failure; past the limit none is checked
    failures = AccessAttempt.objects.filter(username=email).values_list(
        "failures_since_start", flat=True
    )
    assert sum(failures) == settings.AXES_FAILURE_LIMIT
    assert statuses.count(429) == RACERS - settings.AXES_FAILURE_LIMIT + 1
    # and the right password is refused now too
    right = Client().post("/accounts/login/", {"login": email, "password": TEST_PASSWORD})
    assert right.status_code == 429


def test_concurrent_failed_sign_ins_from_one_address_check_at_most_its_limit(
    transactional_db: None, settings: Any
) -> None:
    """allauth's per-address limit counts under a cache lock (allauth.core.internal.ratelimit):
    already one step, here held to it. A racer that cannot get the lock is refused (429)."""
    from axes.models import AccessAttempt

    settings.ACCOUNT_RATE_LIMITS = {"login_failed": f"{LIMIT}/m/ip"}
    address = an_address()
    prefix = secrets.token_hex(3)
    numbers = iter(range(RACERS))
    lock = threading.Lock()

    def post() -> int:
        with lock:
            number = next(numbers)
        email = f"guess-{prefix}-{number}@example.org"  # one account each: no lockout
        response = Client(REMOTE_ADDR=address).post(
            "/accounts/login/", {"login": email, "password": "wrong-guess-1"}
        )
        # 200 "not correct": the password was checked; refused: the limit's page or a 429
        checked = "password you specified are not correct" in response.content.decode()
        return 200 if checked else 429

    statuses = race(post)
    checked = AccessAttempt.objects.filter(username__startswith=f"guess-{prefix}-").count()
    assert 1 <= checked <= LIMIT
    assert statuses.count(200) == checked
