"""The privacy-request queue, as people and integrators read it, at 10k, 100k and 1M requests.

request_queue        GET /o/<slug>/requests/ (first page, 50 rows, default filter: open
                     requests by earliest deadline) as an org admin, through django.test.Client.
request_queue_deep   the same, a page 40 % of the way into the open requests (keyset cursor).
api_request_list     GET /api/v1/orgs/<slug>/requests/ (first page, 50 rows) with an
                     organization API key (privacy staff: personal data included), as an
                     integrator calls it.

All three are sized (`--size`): one organization per size, `bench-register-10k` and so on,
seeded once by `benchmarks.seeding.seed_request_register` (ORM-made requests cloned set-based:
real sealed envelopes, a mix of types, statuses, deadlines and assignees) and reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.permissions import Role
from accounts.tests.factories import sign_in
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.scenarios.portal import served
from benchmarks.seeding import RegisterSeed, seed_request_register
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.queue.selectors import QueueCursor


def _seed(bench: Bench) -> RegisterSeed:
    assert bench.size_name is not None
    seed = seed_request_register(bench.size_name, bench.size)
    bench.log(
        f"{seed.requests} requests, {seed.open_requests} open "
        f"({'reused' if seed.reused else 'seeded'} in {seed.seconds:.1f}s)"
    )
    bench.extra["requests"] = seed.requests
    bench.extra["seed_s"] = round(seed.seconds, 1)
    bench.details["open_requests"] = seed.open_requests
    bench.details["organization"] = seed.organization.slug
    return seed


def _measure_get(bench: Bench, get: Callable[[], HttpResponse], url: str, *, expect: str) -> None:
    """One checked, counted request, then the measured ones (each must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = get()
    # copied now: the context reads connection.queries lazily, and each request resets them
    queries = [q["sql"] for q in captured.captured_queries]
    if response.status_code != 200 or expect not in response.content.decode():
        raise ScenarioError(f"GET {url} returned {response.status_code} without {expect!r}")

    def request() -> None:
        if get().status_code != 200:
            raise ScenarioError(f"GET {url} failed")

    bench.measure(request)
    bench.extra["queries/request"] = len(queries)
    health_check = 1 if settings.DATABASES["default"].get("CONN_HEALTH_CHECKS") else 0
    bench.extra["statements/request"] = len(queries) + health_check
    bench.details["url"] = url
    bench.details["response_bytes"] = len(response.content)
    bench.details["queries"] = queries


@scenario(
    "request_queue",
    description="GET /o/<slug>/requests/ (first page of open requests) as an org admin",
    runs=100,
    warmup=10,
    sized=True,
)
def request_queue(bench: Bench) -> None:
    seed = _seed(bench)
    client = Client()
    sign_in(client, seed.admin)
    url = reverse("accounts:request_queue", kwargs={"org_slug": seed.organization.slug})
    try:
        _measure_get(bench, lambda: served(client, url), url, expect="Requester ")
    finally:
        client.logout()


@scenario(
    "request_queue_deep",
    description="GET a queue page 40 % deep into the open requests (keyset cursor)",
    runs=100,
    warmup=10,
    sized=True,
)
def request_queue_deep(bench: Bench) -> None:
    seed = _seed(bench)
    with tenant_context(seed.organization):
        position = (
            PrivacyRequest.objects.filter(closed_at__isnull=True)
            .order_by("next_due_on", "id")
            .only("id", "next_due_on")[seed.open_requests * 2 // 5]
        )
    cursor = QueueCursor.of(position).encode()
    client = Client()
    sign_in(client, seed.admin)
    url = reverse("accounts:request_queue", kwargs={"org_slug": seed.organization.slug})
    url = f"{url}?after={cursor}"
    try:
        _measure_get(bench, lambda: served(client, url), url, expect="Requester ")
    finally:
        client.logout()


@scenario(
    "api_request_list",
    description="GET /api/v1/orgs/<slug>/requests/ (first page) with an API key",
    runs=200,
    warmup=20,
    sized=True,
)
def api_request_list(bench: Bench) -> None:
    seed = _seed(bench)
    with tenant_context(seed.organization):
        # a new key per run: a token is shown only once
        token = api_key_create(
            organization=seed.organization,
            user=seed.admin,
            name=f"bench list {int(time.time())}",
            role=Role.PRIVACY_STAFF,
            expires_at=None,
        ).token
    client = Client()
    url = reverse("accounts_api:request_list", kwargs={"org_slug": seed.organization.slug})

    def get() -> HttpResponse:
        close_old_connections()  # request_started, as a WSGI server does
        try:
            return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")  # type: ignore[return-value]
        finally:
            close_old_connections()  # request_finished

    get()  # the key's first use records last_used_at (4 statements): count a later call
    _measure_get(bench, get, url, expect='"requester_name":"Requester ')
