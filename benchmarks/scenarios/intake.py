"""Intake throughput through the API, against the production server (gunicorn), and the API's
fixed cost on the same server.

intake_api    POST /api/v1/orgs/<slug>/requests/intake/ with an organization API key, from
              4 concurrent clients (threads, one keep-alive HTTP connection each) against
              gunicorn started for the scenario (configured by ./gunicorn.conf.py, as
              production is; the bench database; DEBUG off: `_intake_settings`). Each POST
              records a request through `request_receive` (deadline computation, encryption
              of the personal fields, blind indexes, duplicate check, timeline event, the
              privacy team's alert, audit event) and answers 201 with the request.
              On the same server, before and after the intake, the api_baseline request is
              measured too: extra `baseline_ops_s` (the mean of both) and `intake/baseline`.
api_baseline  GET /api/v1/orgs/<slug>/ with the same key, from 4 clients against its own
              gunicorn: the organization and the caller, no query of its own. What every API
              request pays (server, middleware, API-key authentication, tenancy context) and
              nothing more. It has no throttle (the endpoint has none); the intake pays its
              throttle's Redis round trip.

The numbers: p50/p95 are per request as a client sees them (network round trip on loopback
included); ops/s is requests answered as expected (201, 200) per second over the measured
loop, all 4 clients together. The intake throttle stays in the path (its Redis counter is
paid) with a rate set high enough that it never refuses (PRIVACY_INTAKE_API_RATE in the
server's environment). Every measured response must have the expected status, or the
scenario fails. GUNICORN_WORKERS and GUNICORN_THREADS in the environment change the server.
"""

from __future__ import annotations

import http.client
import json
import os
import runpy
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import Membership, Organization, User
from accounts.permissions import Role
from benchmarks.harness import Bench, ScenarioError, scenario, summarise
from benchmarks.seeding import analyze, password_hash
from k12cloud.tenancy import tenant_context

SLUG = "bench-intake"
ADMIN_EMAIL = "bench-intake-admin@bench.example"
CLIENTS = 4
# generous: a slow request is measured, not dropped (a shared machine can be very busy)
CLIENT_TIMEOUT_S = 180
ROOT = Path(__file__).resolve().parents[2]
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


def _analyze() -> None:
    """Planner statistics of the tables intake grows, as autovacuum keeps them in production.

    The development server may run without autovacuum: never analyzed, the table of requests
    (about 900 more per run) had the duplicate check planned on the subject's index, which
    every bench request shares, filtering every row of the organization (16 ms at 10,000)."""
    from audit.models import AuditEvent
    from k12cloud.notifications.models import Notification, OutboundEmail
    from privacy_requests.models import PrivacyRequest, RequestEvent

    analyze([PrivacyRequest, RequestEvent, AuditEvent, Notification, OutboundEmail])


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
        "--log-level",
        "warning",
        "--timeout",
        str(CLIENT_TIMEOUT_S),
    ]
    # run from the repository root, so gunicorn reads ./gunicorn.conf.py as production does
    return subprocess.Popen(command, env=env, cwd=ROOT)


def _server_label() -> str:
    """Workers and threads as ./gunicorn.conf.py sets them (with this environment)."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return f"{config['workers']}x{config['threads']} {config['worker_class']}"


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
    """One client: `count` requests on one keep-alive connection, each timed.

    POST sends an intake body with a new requester address each time; GET sends no body."""

    def __init__(
        self, port: int, call: _Call, token: str, count: int, start: threading.Barrier
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.call, self.count, self.start_together = port, call, count, start
        self.headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
        if call.method == "POST":
            self.headers["Content-Type"] = "application/json"
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
            body = None
            if self.call.method == "POST":
                body = json.dumps({**BODY, "requester_email": f"parent-{run}-{n}@bench.example"})
            started = time.perf_counter_ns()
            try:
                connection.request(
                    self.call.method, self.call.path, body=body, headers=self.headers
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(type(exc).__name__)
                connection.close()
                connection = self.connect()
                continue
            self.samples_ns.append(time.perf_counter_ns() - started)
            if response.status != self.call.expected_status:
                self.failures.append(str(response.status))
        connection.close()


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    expected_status: int


@dataclass
class _Round:
    samples_ns: list[int]
    wall_ns: int
    cpu_ns: int
    failures: list[str]
    # CPU time of the gunicorn workers and of the PostgreSQL backends of the bench database
    # during the round: steadier than wall time on a busy machine
    server_cpu_ns: int = 0
    database_cpu_ns: int = 0

    @property
    def ops_per_s(self) -> float:
        return len(self.samples_ns) / (self.wall_ns / 1e9)

    def cpu_ms_per_request(self) -> tuple[float, float]:
        """(gunicorn, PostgreSQL) CPU milliseconds per request."""
        count = len(self.samples_ns)
        return self.server_cpu_ns / 1e6 / count, self.database_cpu_ns / 1e6 / count


_CLOCK_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _process_cpu_ns(pids: set[int]) -> dict[int, int]:
    """user + system CPU time of each process (all its threads) that still exists."""
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) * _CLOCK_TICK_NS  # utime, stime
    return times


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.add(int(entry.name))
    return found


def _database_backends() -> set[int]:
    """The other backends of the bench database: the server's connections."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def _cpu_used(before: dict[int, int], after: dict[int, int]) -> int:
    return sum(ns - before.get(pid, 0) for pid, ns in after.items())


def _round(server: _Server, call: _Call, token: str, per_client: int) -> _Round:
    """`CLIENTS` clients, `per_client` requests each, all at once."""
    barrier = threading.Barrier(CLIENTS + 1)
    clients = [_Client(server.port, call, token, per_client, barrier) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    workers, backends = _children(server.pid), _database_backends()
    workers_before, backends_before = _process_cpu_ns(workers), _process_cpu_ns(backends)
    barrier.wait()
    cpu_start = time.process_time_ns()
    started = time.perf_counter_ns()
    for client in clients:
        client.join()
    wall_ns = time.perf_counter_ns() - started
    cpu_ns = time.process_time_ns() - cpu_start
    # a connection opened during the round counts from its start
    workers_after = _process_cpu_ns(workers | _children(server.pid))
    backends_after = _process_cpu_ns(backends | _database_backends())
    samples = [s for c in clients for s in c.samples_ns]
    failures = [f for c in clients for f in c.failures]
    return _Round(
        samples,
        wall_ns,
        cpu_ns,
        failures,
        server_cpu_ns=_cpu_used(workers_before, workers_after),
        database_cpu_ns=_cpu_used(backends_before, backends_after),
    )


@dataclass(frozen=True)
class _Server:
    port: int
    pid: int


@contextmanager
def _gunicorn() -> Iterator[_Server]:
    """gunicorn serving the bench database on a free port, as configured for production."""
    port = _free_port()
    server = _start_gunicorn(port)
    try:
        _wait_until_serving(port, server)
        yield _Server(port, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _measured(server: _Server, call: _Call, token: str, runs: int) -> _Round:
    measured = _round(server, call, token, max(1, runs // CLIENTS))
    if measured.failures:
        raise ScenarioError(
            f"{len(measured.failures)} of {call.method} {call.path} failed, "
            f"e.g. {measured.failures[:3]}"
        )
    return measured


def _warm(bench: Bench, server: _Server, call: _Call, token: str) -> None:
    # every worker (and thread) imports the code and opens its connections; not measured
    warm = _round(server, call, token, max(1, bench.warmup // CLIENTS))
    if warm.failures:
        bench.log(f"warm-up: {len(warm.failures)} requests failed ({warm.failures[:3]})")


def _calls() -> tuple[_Call, _Call]:
    kwargs = {"org_slug": SLUG}
    intake = _Call("POST", reverse("accounts_api:request_intake", kwargs=kwargs), 201)
    baseline = _Call("GET", reverse("accounts_api:organization_detail", kwargs=kwargs), 200)
    return intake, baseline


def _server_extra(bench: Bench) -> None:
    bench.extra["clients"] = CLIENTS
    bench.extra["server"] = _server_label()
    bench.details["server"] = f"gunicorn ({_server_label()}), gunicorn.conf.py, DEBUG off, loopback"


@scenario(
    "intake_api",
    description=(
        f"POST /api/v1/orgs/<slug>/requests/intake/ (API key), {CLIENTS} concurrent clients "
        "against gunicorn; api_baseline on the same server before and after (ratio in extra)"
    ),
    runs=400,
    warmup=40,
)
def intake_api(bench: Bench) -> None:
    token = _api_token(_organization())
    _analyze()
    intake, baseline = _calls()
    with _gunicorn() as server:
        _warm(bench, server, baseline, token)
        _warm(bench, server, intake, token)
        # the baseline brackets the intake, so a change of the machine's load shows
        before = _measured(server, baseline, token, bench.runs)
        measured = _measured(server, intake, token, bench.runs)
        after = _measured(server, baseline, token, bench.runs)
    # the harness's timing, from the clients' samples: ops/s = accepted requests per second
    bench.timing = summarise(
        measured.samples_ns, warmup=bench.warmup, wall_ns=measured.wall_ns, cpu_ns=measured.cpu_ns
    )
    baseline_ops = (before.ops_per_s + after.ops_per_s) / 2
    bench.extra["accepted"] = len(measured.samples_ns)
    bench.extra["baseline_ops_s"] = round(baseline_ops, 1)
    bench.extra["intake/baseline"] = f"{100 * measured.ops_per_s / baseline_ops:.0f}%"
    server_ms, database_ms = measured.cpu_ms_per_request()
    base_server_ms = (before.server_cpu_ns + after.server_cpu_ns) / 1e6 / 2 / len(after.samples_ns)
    base_db_ms = (before.database_cpu_ns + after.database_cpu_ns) / 1e6 / 2 / len(after.samples_ns)
    # CPU per request: gunicorn + PostgreSQL, intake and baseline
    bench.extra["cpu_ms/req"] = (
        f"{server_ms:.1f}+{database_ms:.1f} vs {base_server_ms:.1f}+{base_db_ms:.1f}"
    )
    _server_extra(bench)
    bench.details["baseline_ops_s_before_after"] = [
        round(before.ops_per_s, 1),
        round(after.ops_per_s, 1),
    ]
    bench.details["baseline_p50_ms"] = round(
        statistics.median(before.samples_ns + after.samples_ns) / 1e6, 2
    )
    bench.details["body"] = {k: v for k, v in BODY.items() if k == "request_type"}


@scenario(
    "api_baseline",
    description=(
        f"GET /api/v1/orgs/<slug>/ (API key: the organization and the caller), {CLIENTS} "
        "concurrent clients against gunicorn: the API's fixed cost (server, auth, middleware)"
    ),
    runs=1000,
    warmup=100,
)
def api_baseline(bench: Bench) -> None:
    token = _api_token(_organization())
    _intake, baseline = _calls()
    with _gunicorn() as server:
        _warm(bench, server, baseline, token)
        measured = _measured(server, baseline, token, bench.runs)
    server_ms, database_ms = measured.cpu_ms_per_request()
    bench.extra["cpu_ms/req"] = f"{server_ms:.1f}+{database_ms:.1f}"
    bench.timing = summarise(
        measured.samples_ns, warmup=bench.warmup, wall_ns=measured.wall_ns, cpu_ns=measured.cpu_ns
    )
    _server_extra(bench)
