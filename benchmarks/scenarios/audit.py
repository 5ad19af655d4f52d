"""The tamper-evident audit log: record() with the hash chain, and verifying 1,000,000 events.

audit_record        one record() per transaction, as a request or task writes it (one
                    INSERT, unsealed), with the sealer running in its own process every 2 s
                    as beat runs it; then 4 concurrent writers on 4 organizations and on one,
                    as threads in this process (each with its own connection) and as 4
                    processes (as web and worker processes write), in `extra` as
                    events/s; the sealer's rate over a backlog; and how long the events
                    recorded waited for their seal (median and longest).
audit_verify_1m     audit_verify's check of one organization's chain of 1,000,000 events
                    (seeded once with valid hashes by set-based INSERTs, then reused), and
                    the peak memory of the `manage.py audit_verify` command at 100,000 and
                    1,000,000 events (a second organization's chain of 100,000).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import connection

from accounts.models import Organization
from audit.actions import Action
from audit.chain import event_hash, lock_head, move_head
from audit.checkpoints import checkpoint_chains
from audit.context import Actor, acting_as
from audit.models import AuditEvent
from audit.sealing import seal_chains
from audit.services import record
from audit.verification import verify_chains
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.seeding import analyze
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

WRITER_SLUGS = [f"bench-audit-writer-{i}" for i in range(4)]
MILLION_SLUG = "bench-audit-1m"
HUNDRED_K_SLUG = "bench-audit-100k"
BASELINE_SLUG = "bench-audit-baseline"
MILLION = 1_000_000
SEED_BATCH = 20_000
SEAL_INTERVAL_S = 2.0  # beat's schedule for audit.seal_audit_chains (k12cloud/celery.py)


def _organization(slug: str) -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=slug,
        defaults={
            "name": slug.replace("-", " ").title(),
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Chicago",
        },
    )
    return organization


def _record_one(organization_id: int) -> None:
    record(
        Action.MEMBER_ROLE_CHANGED,
        organization=organization_id,
        target=("accounts.membership", 42),
        changes={"role": ["viewer", "privacy_staff"]},
    )


@contextmanager
def _sealer_running(interval_s: float) -> Iterator[dict[str, float]]:
    """The sealer in its own process, every `interval_s` (beat's 2 s), while the block runs;
    then what it did (runs, events sealed, seconds busy)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scenarios._audit_sealer", str(interval_s)],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    outcome: dict[str, float] = {}
    try:
        yield outcome
    finally:
        out, _ = process.communicate("", timeout=600)
    if process.returncode != 0:
        raise ScenarioError(f"the sealer process failed with status {process.returncode}")
    outcome.update(json.loads(out.strip().splitlines()[-1]))


def _process_rate(organization_ids: list[int], events_each: int) -> float:
    """Events/s of len(organization_ids) writer processes, writer i on organization_ids[i]:
    separate interpreters, as gunicorn's and Celery's worker processes are (threads in one
    process share one interpreter lock, which caps them whatever the database does)."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.scenarios._audit_writer", str(o), str(events_each)],
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for o in organization_ids
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdin is not None
            if writer.stdout.readline().strip() != "ready":
                raise ScenarioError("an audit writer process did not start")
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outcomes = [json.loads(writer.communicate(timeout=900)[0]) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    if any(writer.returncode for writer in writers):
        raise ScenarioError("an audit writer process failed")
    elapsed = max(o["finished"] for o in outcomes) - min(o["started"] for o in outcomes)
    return sum(o["events"] for o in outcomes) / elapsed


def _seal_waits(organization_ids: list[int], since: datetime) -> tuple[int, int, float, float]:
    """(events recorded since `since`, of them unsealed, median and longest wait in seconds)."""
    with (
        unscoped_all_tenants(reason="benchmark: how long the writers' events waited"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE sequence IS NULL), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY waited), max(waited) "
            "FROM (SELECT sequence, EXTRACT(EPOCH FROM sealed_at - occurred_at) AS waited "
            "FROM audit_auditevent WHERE organization_id = ANY(%s) AND occurred_at >= %s) "
            "AS recorded",
            [organization_ids, since],
        )
        recorded, unsealed, median, longest = cursor.fetchone()
    return recorded, unsealed, float(median or 0), float(longest or 0)


def _sealing_rate(organization_id: int, events: int) -> float:
    """Events/s the sealer links, over a backlog of `events` recorded with no sealer running."""
    for _ in range(events):
        _record_one(organization_id)
    began = time.perf_counter()
    sealed = seal_chains()
    elapsed = time.perf_counter() - began
    if sealed < events:
        raise ScenarioError(f"the sealer sealed {sealed} of a backlog of {events} events")
    return sealed / elapsed


def _concurrent_rate(organization_ids: list[int], events_each: int) -> float:
    """Events/s of len(organization_ids) writers, writer i on organization_ids[i]."""
    start = threading.Barrier(len(organization_ids) + 1, timeout=60)
    errors: list[str] = []

    def write(organization_id: int) -> None:
        try:
            with acting_as(Actor.system("benchmark")):
                _record_one(organization_id)  # connect and warm up before the clock
                start.wait()
                for _ in range(events_each):
                    _record_one(organization_id)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(o,)) for o in organization_ids]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise ScenarioError(f"concurrent writers failed: {errors[:3]}")
    return len(organization_ids) * events_each / elapsed


@scenario(
    "audit_record",
    description="record() of one audit event in its own transaction; the sealer links them",
    runs=2000,
    warmup=100,
)
def audit_record(bench: Bench) -> None:
    writers = [_organization(slug).pk for slug in WRITER_SLUGS]
    seal_chains()  # a previous run's leftovers, if it was interrupted
    since = datetime.now(UTC)
    with acting_as(Actor.system("benchmark")):
        with _sealer_running(SEAL_INTERVAL_S) as sealer:
            timing = bench.measure(lambda: _record_one(writers[0]))
            each = 100 if bench.quick else 500
            for label, rate in (("threads", _concurrent_rate), ("processes", _process_rate)):
                bench.extra[f"events/s 4 writer {label}, 4 orgs"] = round(rate(writers, each))
                bench.extra[f"events/s 4 writer {label}, 1 org"] = round(
                    rate([writers[0]] * 4, each)
                )
        recorded, unsealed, median, longest = _seal_waits(writers, since)
        if unsealed:
            raise ScenarioError(f"{unsealed} of the {recorded} events recorded were left unsealed")
        bench.extra["events/s sealing a backlog"] = round(
            _sealing_rate(writers[1], 2000 if bench.quick else 20_000)
        )
    bench.extra["events/s 1 writer"] = round(1000 / timing.median_ms)
    bench.extra["seal wait s (median, max)"] = f"{median:.2f}, {longest:.2f}"
    bench.details["sealer"] = sealer
    bench.details["sealer_interval_s"] = SEAL_INTERVAL_S
    bench.details["concurrent_events_per_writer"] = each
    bench.details["events_recorded_while_sealing"] = recorded
    for organization_id in writers:
        report = verify_chains(organization=Organization.objects.get(pk=organization_id))
        if not report.intact:
            raise ScenarioError(f"a writer's chain does not verify: {report.problems}")


def _seed_million(organization_id: int, bench: Bench, size: int = MILLION) -> tuple[int, float]:
    """Extend the organization's chain to `size` events; returns (events added, seconds)."""
    started = time.perf_counter()
    with tenant_context(organization_id):
        sequence, previous = lock_head(organization_id)
    added = 0
    base = datetime(2025, 1, 1, tzinfo=UTC)
    actions = [a.value for a in Action]
    while sequence < size:
        batch = []
        for s in range(sequence + 1, min(sequence + SEED_BATCH, size) + 1):
            fields = {
                "organization_id": organization_id,
                "occurred_at": base + timedelta(seconds=s * 20, microseconds=s % 997),
                "actor_kind": "user",
                "actor_user_id": 1000 + s % 250,
                "actor_api_key_id": None,
                "actor_label": "",
                "ip_address": f"10.{s % 200}.{s % 150}.{s % 250 + 1}",
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
                "action": actions[s % len(actions)],
                "target_type": "accounts.membership",
                "target_id": str(s % 5000),
                "changes": {"role": ["viewer", "privacy_staff"], "count": s % 7},
                "request_id": f"{s:032x}",
                "sequence": s,
                "previous_hash": previous,
            }
            previous = fields["hash"] = event_hash(fields)
            batch.append(fields)
        columns = list(batch[0])
        arrays = [[row[c] for row in batch] for c in columns]
        arrays[columns.index("changes")] = [json.dumps(row["changes"]) for row in batch]
        types = {
            "organization_id": "bigint",
            "occurred_at": "timestamptz",
            "actor_kind": "text",
            "actor_user_id": "bigint",
            "actor_api_key_id": "bigint",
            "actor_label": "text",
            "ip_address": "inet",
            "user_agent": "text",
            "action": "text",
            "target_type": "text",
            "target_id": "text",
            "changes": "jsonb",
            "request_id": "text",
            "sequence": "bigint",
            "previous_hash": "text",
            "hash": "text",
        }
        unnest = ", ".join(f"%s::{types[c]}[]" for c in columns)
        with tenant_context(organization_id), connection.cursor() as cursor:
            lock_head(organization_id)  # the seed is one more writer of the chain
            cursor.execute(
                f"INSERT INTO audit_auditevent ({', '.join(columns)}) "
                f"SELECT * FROM unnest({unnest})",
                arrays,
            )
            move_head(organization_id, min(sequence + SEED_BATCH, size), previous)
        added += len(batch)
        sequence = min(sequence + SEED_BATCH, size)
        if added % 200_000 == 0:
            bench.log(f"seeded {sequence:,} events ({time.perf_counter() - started:.0f}s)")
    return added, time.perf_counter() - started


@scenario(
    "audit_verify_1m",
    description="audit_verify of one organization's chain of 1,000,000 events",
    runs=2,
    warmup=0,
)
def audit_verify_1m(bench: Bench) -> None:
    organization = _organization(MILLION_SLUG)
    added, seconds = _seed_million(organization.pk, bench)
    if added:
        bench.log(f"seeded {added:,} events in {seconds:.1f}s ({added / seconds:,.0f} rows/s)")
        bench.extra["seed rows/s"] = round(added / seconds)
        analyze([AuditEvent])  # what a settled database has
    checkpoint_chains()  # so the check covers a signed checkpoint too
    checked: list[int] = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def verify() -> None:
        report = verify_chains(organization=organization)
        if not report.intact:
            raise ScenarioError(f"the seeded chain does not verify: {report.problems}")
        checked.append(report.events)

    timing = bench.measure(verify)
    if checked[-1] != MILLION:
        raise ScenarioError(f"checked {checked[-1]} events, expected {MILLION}")
    bench.extra["events"] = checked[-1]
    bench.extra["events/s"] = round(MILLION / (timing.median_ms / 1000))
    bench.extra["seconds"] = round(timing.median_ms / 1000, 1)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    bench.extra["peak RSS growth MB"] = round(rss_growth / 1024, 1)
    bench.details["seed"] = {"added": added, "seconds": round(seconds, 1)}

    # the command itself in a fresh process per size: its wall time and peak RSS
    hundred_k = _organization(HUNDRED_K_SLUG)
    if _seed_million(hundred_k.pk, bench, size=100_000)[0]:
        analyze([AuditEvent])
    for label, slug in (("100k", HUNDRED_K_SLUG), ("1m", MILLION_SLUG)):
        seconds, peak_kb = _command_run(slug)
        bench.extra[f"command s {label}"] = round(seconds, 1)
        bench.extra[f"command peak RSS MB {label}"] = round(peak_kb / 1024, 1)


def _command_run(slug: str) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of `manage.py audit_verify --organization SLUG`."""
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(manage), "audit_verify", "--organization", slug],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode()
    if process.returncode != 0 or "all intact" not in text:
        raise ScenarioError(f"audit_verify --organization {slug} failed: {text[-500:]}")
    return seconds, usage.ru_maxrss
