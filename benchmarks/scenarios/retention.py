"""De-identification: the retention engine against one raw SQL UPDATE, 1,000,000 rows each.

retention_deidentify_1m   one organization's 1,000,000 privacy requests de-identified through
                          the engine (retention.engine: chunks of RETENTION_CHUNK_SIZE ids, one
                          UPDATE and one transaction per chunk, progress saved per chunk,
                          under the tenant context and row-level security), and another
                          organization's 1,000,000 through one raw `UPDATE ... WHERE
                          organization_id = %s` of the same columns to the same values, in
                          the same run, each twice (raw, engine, engine, raw), each step
                          from a vacuumed table (not timed). Reports both rates (rows/s) and
                          engine/raw; fails below half the raw rate.

Rows are seeded once per organization by cloning one request made through the ORM (so the
encrypted columns hold real envelopes) with INSERT ... SELECT generate_series, then reused: a
de-identified row costs the same UPDATE again, so re-running needs no re-seeding.
"""

from __future__ import annotations

import time

from django.utils import timezone

from accounts.models import Organization
from benchmarks.harness import Bench, ScenarioError, scenario
from benchmarks.seeding import analyze, seed_cloned_requests
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from retention.declarations import declaration_for
from retention.engine import declaration_updates, model_deidentify
from retention.models import RetentionRun

ROWS = 1_000_000
LABEL = "privacy_requests.PrivacyRequest"
ENGINE_SLUG = "bench-retention-engine"
RAW_SLUG = "bench-retention-raw"


def _organization(slug: str) -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=slug,
        defaults={
            "name": slug.replace("-", " ").title(),
            "kind": Organization.Kind.DISTRICT,
            "status": Organization.Status.TERMINATED,
            "terminated_at": timezone.now(),
            "time_zone": "America/Chicago",
        },
    )
    return organization


def _seed(organization: Organization) -> None:
    seed_cloned_requests(
        organization, ROWS, reference_prefix="B", details="A request for the benchmark"
    )


def _engine(organization: Organization) -> int:
    with tenant_context(organization):
        RetentionRun.objects.filter(kind=RetentionRun.Kind.TERMINATION).delete()
        run = RetentionRun.objects.create(
            organization=organization,
            kind=RetentionRun.Kind.TERMINATION,
            rule="benchmark",
            due_on=timezone.localdate(),
        )
    return model_deidentify(run=run, label=LABEL)


def _raw(organization: Organization) -> int:
    """The same columns to the same values, in one statement (compiled by Django's update,
    whose SQL is the plain UPDATE ... SET ... WHERE organization_id = %s)."""
    declaration = declaration_for(LABEL)
    assert declaration is not None
    with tenant_context(organization):
        return PrivacyRequest._base_manager.filter(organization_id=organization.pk).update(
            **declaration_updates(declaration, PrivacyRequest, organization.pk)
        )


@scenario(
    "retention_deidentify_1m",
    description="de-identify 1,000,000 requests: engine vs one raw UPDATE (rows/s, ratio)",
    runs=1,
    warmup=0,
)
def retention_deidentify_1m(bench: Bench) -> None:
    began = time.perf_counter()
    engine_org, raw_org = _organization(ENGINE_SLUG), _organization(RAW_SLUG)
    _seed(engine_org)
    _seed(raw_org)
    bench.extra["seed_s"] = round(time.perf_counter() - began, 1)

    timings: dict[str, list[float]] = {"raw": [], "engine": []}
    steps = {"raw": (_raw, raw_org), "engine": (_engine, engine_org)}

    def both() -> None:
        # twice, in alternating order (raw, engine, engine, raw), so that neither side always
        # runs after the other's dead tuples and checkpoints; the rate is over both passes
        for name in ("raw", "engine", "engine", "raw"):
            step, organization = steps[name]
            # each step starts from a settled table, as autovacuum keeps it in production: the
            # development server may run without autovacuum, and then every step would scan
            # the dead row versions of every step before it (not timed)
            analyze([PrivacyRequest], vacuum=True)
            start = time.perf_counter()
            rows = step(organization)
            timings[name].append(time.perf_counter() - start)
            if rows != ROWS:
                raise ScenarioError(f"{name} de-identified {rows} rows, expected {ROWS}")

    bench.measure(both)
    engine_rate = 2 * ROWS / sum(timings["engine"])
    raw_rate = 2 * ROWS / sum(timings["raw"])
    ratio = engine_rate / raw_rate
    bench.extra["engine_rows_s"] = round(engine_rate)
    bench.extra["raw_rows_s"] = round(raw_rate)
    bench.extra["engine/raw"] = round(ratio, 2)
    bench.details["engine_s"] = [round(t, 2) for t in timings["engine"]]
    bench.details["raw_s"] = [round(t, 2) for t in timings["raw"]]
    if ratio < 0.5:
        raise ScenarioError(f"the engine ran at {ratio:.2f} of raw SQL's rate (< 0.5)")
