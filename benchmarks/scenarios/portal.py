"""Portal pages, requested in-process through django.test.Client as a signed-in member.

The Client runs the whole middleware stack (sessions, auth, OTP, CSP, the tenancy
transaction) and the template rendering, but no network or WSGI server: numbers are the
application's share of a request. Unlike a WSGI server, the Client does not run
`close_old_connections` around each request; `served()` does, so that each request pays the
connection upkeep it pays in production (a `SELECT 1` per request if CONN_HEALTH_CHECKS is on;
it is off by default since issue #20).
"""

from __future__ import annotations

from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import sign_in
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.seeding import seed_portal


def served(client: Client, url: str) -> HttpResponse:
    """GET `url` the way a WSGI server would: connection upkeep before and after."""
    close_old_connections()  # request_started
    try:
        return client.get(url)  # type: ignore[return-value]
    finally:
        close_old_connections()  # request_finished


@scenario(
    "landing_page",
    description="GET /o/<slug>/ (dashboard) as an org admin; 50 orgs, 5,000 users",
    runs=200,
    warmup=20,
)
def landing_page(bench: Bench) -> None:
    seed = seed_portal(organizations=50, users_per_organization=100)
    bench.log(
        f"seed {'reused' if seed.reused else 'created'} in {seed.seconds:.2f}s "
        f"({len(seed.organization_slugs)} organizations, {seed.users} users, "
        f"{seed.memberships} memberships)"
    )
    bench.details["seed"] = {
        "organizations": len(seed.organization_slugs),
        "users": seed.users,
        "memberships": seed.memberships,
        "reused": seed.reused,
        "seconds": round(seed.seconds, 3),
        "signed_in_as": seed.admin_email,
    }

    admin = User.objects.get(email=seed.admin_email)
    client = Client()
    sign_in(client, admin)
    url = reverse("accounts:dashboard", kwargs={"org_slug": seed.admin_organization_slug})

    def request() -> None:
        response = served(client, url)
        if response.status_code != 200:
            raise ScenarioError(f"GET {url} returned {response.status_code}, expected 200")

    # One checked request first: the right page, with the admin-only panel and the switcher.
    with CaptureQueriesContext(connection) as captured:
        response = served(client, url)
    # copied now: the context reads connection.queries lazily, and each request resets them
    queries = [q["sql"] for q in captured.captured_queries]
    body = response.content.decode()
    if response.status_code != 200:
        raise ScenarioError(f"GET {url} returned {response.status_code}, expected 200")
    for expected in ("Bench District 000", "Members by role", "Bench District 002"):
        if expected not in body:
            raise ScenarioError(f"GET {url}: the page does not contain {expected!r}")

    try:
        bench.measure(request)
    finally:
        client.logout()  # deletes the session row

    # Django runs the health check's SELECT 1 on the raw connection, so it is not counted here
    bench.extra["queries/request"] = len(queries)
    # every statement the database receives for one request: those plus the health check's
    health_check = 1 if settings.DATABASES["default"].get("CONN_HEALTH_CHECKS") else 0
    bench.extra["statements/request"] = len(queries) + health_check
    bench.extra["seed_s"] = round(seed.seconds, 2)
    bench.extra["seed"] = "reused" if seed.reused else "created"
    bench.details["url"] = url
    bench.details["response_bytes"] = len(response.content)
    bench.details["queries"] = queries
