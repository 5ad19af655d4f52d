"""The privacy-request triage queue with 100,000 requests in the organization.

request_queue   GET /o/<slug>/requests/ (first page, 50 rows, default filter: open requests by
                earliest deadline) as an org admin. The requests are seeded once with
                bulk_create in batches inside tenant_context; the personal fields are sealed
                once per distinct value (a few hundred envelopes, not 100,000), since a
                `Sealed` value and a preset blind index are stored as they are.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from accounts.tests.factories import sign_in
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.scenarios.portal import served
from benchmarks.seeding import analyze, password_hash
from k12cloud.encryption.envelope import Sealed, blind_index, seal
from k12cloud.encryption.fields import EncryptedTextField
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue.selectors import QueueCursor
from privacy_requests.status import Status

SLUG = "bench-requests-100k"
REQUESTS = 100_000
BATCH = 5_000
DISTINCT_PEOPLE = 200
ADMIN_EMAIL = "bench-requests-admin@bench.example"


def _organization() -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "Bench Requests District",
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Los_Angeles",
            "country": "US",
            "subdivision": "CA",
        },
    )
    return organization


def _admin(organization: Organization) -> User:
    user, _ = User.objects.get_or_create(
        email=ADMIN_EMAIL, defaults={"full_name": "Bench Admin", "password": password_hash()}
    )
    with tenant_context(organization):
        Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": Role.ORG_ADMIN}
        )
    return user


def _seed(organization: Organization) -> tuple[int, float]:
    started = time.perf_counter()
    with tenant_context(organization):
        existing = PrivacyRequest.objects.count()
    if existing >= REQUESTS:
        return existing, 0.0
    table = PrivacyRequest._meta.db_table
    org_id = organization.pk
    with tenant_context(organization):
        people: list[tuple[Sealed, Sealed, str]] = []
        for p in range(DISTINCT_PEOPLE):
            name, email = f"Requester {p:03d}", f"requester-{p:03d}@bench.example"
            people.append(
                (
                    Sealed(seal(org_id, f"{table}.requester_name", name)),
                    Sealed(seal(org_id, f"{table}.requester_email", email)),
                    blind_index(org_id, email, create=True),
                )
            )
        # every other encrypted field is empty: one sealed "" per column, stored as it is
        # (a plain "" would be sealed, with a key query, per row and field)
        empty = {
            f.attname: Sealed(seal(org_id, f.context, ""))
            for f in PrivacyRequest._meta.concrete_fields
            if isinstance(f, EncryptedTextField)
            and f.attname not in ("requester_name", "requester_email")
        }
    today = date.today()
    open_statuses = [Status.RECEIVED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.VERIFIED]
    for start in range(existing, REQUESTS, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, REQUESTS)):
            sealed_name, sealed_email, index = people[i % DISTINCT_PEOPLE]
            closed = i % 5 == 0  # a fifth of the register is closed
            received = datetime.combine(today - timedelta(days=i % 60), datetime.min.time(), UTC)
            respond_by = received.date() + timedelta(days=45)
            acknowledge_by = received.date() + timedelta(days=14)
            rows.append(
                PrivacyRequest(  # type: ignore[misc]  # envelopes sealed once, stored as they are
                    organization_id=org_id,
                    reference=f"B-{i:08d}",
                    request_type=["access", "delete", "correct"][i % 3],
                    status=Status.FULFILLED if closed else open_statuses[i % 4],
                    channel=PrivacyRequest.Channel.WEB,
                    relationship=PrivacyRequest.Relationship.PARENT,
                    requester_name=sealed_name,
                    requester_email=sealed_email,
                    requester_email_index=index,
                    subject_index=None,
                    **empty,
                    received_at=received,
                    deadlines={"binding_rule": "ccpa"},
                    acknowledge_by=acknowledge_by,
                    respond_by=respond_by,
                    next_due_on=None if closed else acknowledge_by,
                    outcome=PrivacyRequest.Outcome.FULFILLED if closed else "",
                    closed_at=received + timedelta(days=20) if closed else None,
                )
            )
        with tenant_context(organization):
            PrivacyRequest.objects.bulk_create(rows, batch_size=BATCH)
    analyze([PrivacyRequest])
    return REQUESTS, time.perf_counter() - started


@scenario(
    "request_queue",
    description="GET /o/<slug>/requests/ (first page of open requests) with 100,000 requests",
    runs=100,
    warmup=10,
)
def request_queue(bench: Bench) -> None:
    organization = _organization()
    admin = _admin(organization)
    count, seconds = _seed(organization)
    bench.log(
        f"{count} requests (seeded in {seconds:.1f}s)" if seconds else f"{count} requests (reused)"
    )
    client = Client()
    sign_in(client, admin)
    url = reverse("accounts:request_queue", kwargs={"org_slug": organization.slug})

    with CaptureQueriesContext(connection) as captured:
        response = served(client, url)
    queries = [q["sql"] for q in captured.captured_queries]
    if response.status_code != 200 or "Requester " not in response.content.decode():
        raise ScenarioError(f"GET {url} returned {response.status_code} without requests")

    def request() -> None:
        if served(client, url).status_code != 200:
            raise ScenarioError(f"GET {url} failed")

    try:
        bench.measure(request)
    finally:
        client.logout()
    bench.extra["queries/request"] = len(queries)
    bench.extra["requests"] = count
    bench.extra["seed_s"] = round(seconds, 1)
    bench.details["url"] = url
    bench.details["queries"] = queries


@scenario(
    "request_queue_deep",
    description="GET a queue page 40,000 open requests deep (keyset cursor), 100,000 requests",
    runs=100,
    warmup=10,
)
def request_queue_deep(bench: Bench) -> None:
    organization = _organization()
    admin = _admin(organization)
    count, _ = _seed(organization)
    with tenant_context(organization):
        position = (
            PrivacyRequest.objects.filter(closed_at__isnull=True)
            .order_by("next_due_on", "id")
            .only("id", "next_due_on")[40_000]
        )
    cursor = QueueCursor.of(position).encode()
    client = Client()
    sign_in(client, admin)
    url = reverse("accounts:request_queue", kwargs={"org_slug": organization.slug})
    url = f"{url}?after={cursor}"
    response = served(client, url)
    if response.status_code != 200 or "Requester " not in response.content.decode():
        raise ScenarioError(f"GET {url} returned {response.status_code} without requests")

    def request() -> None:
        if served(client, url).status_code != 200:
            raise ScenarioError(f"GET {url} failed")

    try:
        bench.measure(request)
    finally:
        client.logout()
    bench.extra["requests"] = count
    bench.details["url"] = url
