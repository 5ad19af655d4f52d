"""Intake throughput through the API, against the production-style server (gunicorn).

intake_api   POST /api/v1/orgs/<slug>/requests/intake/ with an organization API key, from
             4 concurrent clients (threads, one keep-alive HTTP connection each) against
             gunicorn started for the scenario (4 sync workers, the bench database, DEBUG
             off: `_intake_settings`). Each POST records a request through `request_receive`
             (deadline computation, encryption of the personal fields, blind indexes,
             duplicate check, timeline event, audit event) and answers 201 with the request.

The numbers: p50/p95 are per request as a client sees them (network round trip on loopback
included); ops/s is requests accepted (201) per second over the measured loop, all 4 clients
together. The intake throttle stays in the path (its Redis counter is paid) with a rate set
high enough that it never refuses (PRIVACY_INTAKE_API_RATE in the server's environment).
Every measured response must be a 201, or the scenario fails.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from benchmarks.harness import Bench, ScenarioError, scenario, summarise
from benchmarks.seeding import password_hash
from k12cloud.tenancy import tenant_context

SLUG = "bench-intake"
ADMIN_EMAIL = "bench-intake-admin@bench.example"
CLIENTS = 4
# generous: a slow request is measured, not dropped (a shared machine can be very busy)
CLIENT_TIMEOUT_S = 180
WORKERS = 4
BODY = {
    "request_type": "access",
    "relationship": "parent",
    "requester_name": "Bench Parent",
    "subject_name": "Bench Student",
    "details": "Please send a copy of my child's records.",
}


def _organization() -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "Bench Intake District",
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Los_Angeles",
            "country": "US",
            "subdivision": "CA",
        },
    )
    return organization


def _api_token(organization: Organization) -> str:
    user, _ = User.objects.get_or_create(
        email=ADMIN_EMAIL, defaults={"full_name": "Bench Admin", "password": password_hash()}
    )
    with tenant_context(organization):
        Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": Role.ORG_ADMIN}
        )
        # a new key per run: a token is shown only once
        created = api_key_create(
            organization=organization,
            user=user,
            name=f"bench intake {int(time.time())}",
            role=Role.PRIVACY_STAFF,
            expires_at=None,
        )
    return created.token


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.scenarios._intake_settings",
        "PRIVACY_INTAKE_API_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "k12cloud.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--timeout",
        str(CLIENT_TIMEOUT_S),
    ]
    return subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[2])


def _wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ScenarioError(f"gunicorn exited with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", reverse("health"))
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise ScenarioError("gunicorn did not answer /healthz/ within 60 seconds")


class _Client(threading.Thread):
    """One client: `count` POSTs on one keep-alive connection, each timed."""

    def __init__(self, port: int, path: str, token: str, count: int, start: threading.Barrier):
        super().__init__(daemon=True)
        self.port, self.path, self.count, self.start_together = port, path, count, start
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Host": "127.0.0.1",
        }
        self.samples_ns: list[int] = []
        self.failures: list[str] = []

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT_S)

    def run(self) -> None:
        # a different family per request, as at a real intake: the duplicate check by blind
        # index then finds nothing, instead of every earlier bench request
        run = uuid.uuid4().hex[:12]
        connection = self.connect()
        self.start_together.wait()
        for n in range(self.count):
            body = json.dumps({**BODY, "requester_email": f"parent-{run}-{n}@bench.example"})
            started = time.perf_counter_ns()
            try:
                connection.request("POST", self.path, body=body, headers=self.headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(type(exc).__name__)
                connection.close()
                connection = self.connect()
                continue
            self.samples_ns.append(time.perf_counter_ns() - started)
            if response.status != 201:
                self.failures.append(str(response.status))
        connection.close()


def _round(port: int, path: str, token: str, per_client: int) -> tuple[list[int], int, list[str]]:
    """`CLIENTS` clients, `per_client` POSTs each, all at once; (samples, wall ns, failures)."""
    barrier = threading.Barrier(CLIENTS + 1)
    clients = [_Client(port, path, token, per_client, barrier) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    barrier.wait()
    started = time.perf_counter_ns()
    for client in clients:
        client.join()
    wall_ns = time.perf_counter_ns() - started
    samples = [s for c in clients for s in c.samples_ns]
    failures = [f for c in clients for f in c.failures]
    return samples, wall_ns, failures


@scenario(
    "intake_api",
    description=(
        f"POST /api/v1/orgs/<slug>/requests/intake/ (API key), {CLIENTS} concurrent clients "
        f"against gunicorn ({WORKERS} workers)"
    ),
    runs=400,
    warmup=40,
)
def intake_api(bench: Bench) -> None:
    organization = _organization()
    token = _api_token(organization)
    path = reverse("accounts_api:request_intake", kwargs={"org_slug": SLUG})
    port = _free_port()
    server = _start_gunicorn(port)
    try:
        _wait_until_serving(port, server)
        # warm-up: every worker imports the code and opens its connections; not measured
        _samples, _wall, failures = _round(port, path, token, max(1, bench.warmup // CLIENTS))
        if failures:
            bench.log(f"warm-up: {len(failures)} POSTs failed ({failures[:3]}); not measured")
        per_client = max(1, bench.runs // CLIENTS)
        cpu_start = time.process_time_ns()
        samples, wall_ns, failures = _round(port, path, token, per_client)
        cpu_ns = time.process_time_ns() - cpu_start
        if failures:
            raise ScenarioError(f"{len(failures)} POSTs were not accepted, e.g. {failures[:3]}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    # the harness's timing, from the clients' samples: ops/s = accepted requests per second
    bench.timing = summarise(samples, warmup=bench.warmup, wall_ns=wall_ns, cpu_ns=cpu_ns)
    bench.extra["clients"] = CLIENTS
    bench.extra["workers"] = WORKERS
    bench.extra["accepted"] = len(samples)
    bench.details["server"] = "gunicorn (sync workers), DEBUG off, loopback"
    bench.details["body"] = {k: v for k, v in BODY.items() if k == "request_type"}
