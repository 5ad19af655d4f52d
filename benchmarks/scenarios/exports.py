"""The full organization export (exports/): rows per second and the worker's peak memory.

organization_export_10k_100k   one organization with 10,000 privacy requests and one with
                               100,000 (each also has its other tables nearly empty), each
                               exported once in a fresh process running the Celery task's
                               body (exports.tasks.run_export): keyset chunks, decryption,
                               JSON Lines + CSV, ZIP, sealing, storage. Reports rows/s for
                               both and the process's peak resident memory (VmHWM) at each
                               size; fails when the peak at 100k exceeds the peak at 10k by
                               more than 64 MiB (memory must not grow with the row count).

Rows are seeded once per organization by cloning one request made through the ORM (real
envelopes in its encrypted columns) with INSERT ... SELECT generate_series, then reused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from accounts.models import Organization
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.seeding import seed_cloned_requests

SIZES = (10_000, 100_000)
GROWTH_LIMIT_KIB = 64 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _organization(rows: int) -> Organization:
    slug = f"bench-export-{rows // 1000}k"
    organization, _ = Organization.objects.get_or_create(
        slug=slug,
        defaults={
            "name": slug.replace("-", " ").title(),
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Chicago",
        },
    )
    return organization


def _seed(organization: Organization, rows: int) -> None:
    seed_cloned_requests(
        organization,
        rows,
        reference_prefix="E",
        details="A request for the benchmark, with a few sentences of detail as staff write.",
    )


def _export_in_a_worker_process(organization: Organization) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scenarios._export_worker", str(organization.pk)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise ScenarioError(f"the export process failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["outcome"] != "completed":
        raise ScenarioError(f"the export did not complete: {result}")
    return result


@scenario(
    "organization_export_10k_100k",
    description="full export of 10k and 100k requests: rows/s and the worker's peak memory",
    runs=1,
    warmup=0,
)
def organization_export(bench: Bench) -> None:
    began = time.perf_counter()
    organizations = {rows: _organization(rows) for rows in SIZES}
    for rows, organization in organizations.items():
        _seed(organization, rows)
    bench.extra["seed_s"] = round(time.perf_counter() - began, 1)
    results: dict[int, dict[str, float]] = {}

    def both() -> None:
        for rows, organization in organizations.items():
            results[rows] = _export_in_a_worker_process(organization)

    bench.measure(both)
    for rows, result in results.items():
        label = f"{rows // 1000}k"
        if result["rows"] < rows:
            raise ScenarioError(f"{label}: exported {result['rows']} rows, expected {rows}+")
        bench.extra[f"rows/s_{label}"] = round(result["rows"] / result["seconds"])
        bench.extra[f"peak_MiB_{label}"] = round(result["peak_rss_kib"] / 1024, 1)
        bench.details[label] = result
    growth = results[SIZES[1]]["peak_rss_kib"] - results[SIZES[0]]["peak_rss_kib"]
    bench.extra["peak_growth_MiB"] = round(growth / 1024, 1)
    if growth > GROWTH_LIMIT_KIB:
        raise ScenarioError(
            f"peak memory grew by {growth / 1024:.0f} MiB from 10k to 100k rows: not bounded"
        )
