"""SIS sources: importing a 50,000-student OneRoster package, and looking a student up in it.

sis_import_50k     a OneRoster 1.2 CSV bulk package generated from the specification's shapes
                   (sources.tests.fixtures: 25 schools of 2,000 students, a guardian each,
                   two classes, enrollments, a result per class) imported through the same
                   service as the portal's upload: streamed, checked, encrypted, written in
                   chunks, in one transaction. Reports rows, rows/s, the zip's size and the
                   process's peak resident memory. One measured run (each run replaces the
                   previous import, as a real re-upload does).
sis_lookup         a lookup by first name, last name and birth date in that import (the
                   request page's search: blind indexes, then the matched rows decrypted),
                   then by student number. Imports the package first when it is missing.

BENCH_SIS_STUDENTS overrides the number of students (e.g. 2000 for a smoke run).
"""

from __future__ import annotations

import io
import os
import resource
import time
from datetime import date

from django.utils import timezone

from accounts.models import Organization
from audit.context import Actor, acting_as
from benchmarks.harness import Bench, ScenarioError, scenario
from k12cloud.tenancy import tenant_context
from sources.importing import oneroster_package_import
from sources.models import DataSource, SourceImport
from sources.selectors import current_imports
from sources.services import data_source_save, student_search
from sources.tests.fixtures import GeneratedPackage, oneroster_package

SLUG = "bench-sis"
SCHOOLS = 25
STUDENTS = int(os.environ.get("BENCH_SIS_STUDENTS", "50000"))
ACTOR = Actor.system("benchmark")


def _organization() -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "Bench SIS District",
            "kind": Organization.Kind.DISTRICT,
            "time_zone": "America/Chicago",
        },
    )
    return organization


def _source(organization: Organization) -> DataSource:
    with tenant_context(organization), acting_as(ACTOR):
        existing = DataSource.objects.filter(name="Bench SIS").first()
        return existing or data_source_save(
            organization=organization,
            actor=None,
            kind=DataSource.Kind.ONEROSTER_CSV,
            name="Bench SIS",
        )


def _package() -> GeneratedPackage:
    return oneroster_package(
        schools=SCHOOLS, students_per_school=max(1, STUDENTS // SCHOOLS), seed=50
    )


def _import(
    organization: Organization, source: DataSource, package: GeneratedPackage
) -> SourceImport:
    with tenant_context(organization), acting_as(ACTOR):
        done = oneroster_package_import(
            organization=organization,
            actor=None,
            source=source,
            stream=io.BytesIO(package.content),
            file_name="bench-oneroster.zip",
        )
    if done.status != SourceImport.Status.SUCCEEDED:
        raise ScenarioError(f"the package was refused: {done.errors[:3]}")
    return done


@scenario(
    "sis_import_50k",
    description="import a 50,000-student OneRoster CSV package (rows/s, peak memory)",
    runs=1,
    warmup=0,
)
def sis_import_50k(bench: Bench) -> None:
    organization = _organization()
    source = _source(organization)
    began = time.perf_counter()
    package = _package()
    bench.extra["generate_s"] = round(time.perf_counter() - began, 1)
    results: list[SourceImport] = []
    bench.measure(lambda: results.append(_import(organization, source, package)))
    done = results[-1]
    rows = sum(done.counts.values())
    seconds = (done.finished_at or timezone.now()) - done.started_at
    bench.extra["students"] = len(package.students)
    bench.extra["rows"] = rows
    bench.extra["rows_s"] = round(rows / max(seconds.total_seconds(), 0.001))
    bench.extra["zip_mb"] = round(len(package.content) / 1e6, 1)
    # ru_maxrss is in KiB on Linux: the whole process, generation of the package included
    bench.extra["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    bench.details["counts"] = done.counts


@scenario(
    "sis_lookup",
    description="look a student up by name + birth date, then by student number",
    runs=100,
    warmup=5,
)
def sis_lookup(bench: Bench) -> None:
    organization = _organization()
    source = _source(organization)
    package = _package()
    with tenant_context(organization):
        have = current_imports(organization=organization).get(source.pk)
    if have is None or have.counts.get("demographics.csv") != len(package.students):
        began = time.perf_counter()
        _import(organization, source, package)
        bench.extra["seed_s"] = round(time.perf_counter() - began, 1)
    students = package.students
    picks = [students[(i * 7919) % len(students)] for i in range(50)]
    turn = iter(range(10**9))

    def lookup() -> None:
        student = picks[next(turn) % len(picks)]
        with tenant_context(organization), acting_as(ACTOR):
            by_name = student_search(
                organization=organization,
                actor=None,
                given_name=student.given_name,
                family_name=student.family_name,
                birth_date=date.fromisoformat(student.birth_date),
            )
            by_number = student_search(
                organization=organization, actor=None, identifier=student.identifier
            )
        if student.sourced_id not in {c.sourced_id for c in by_name} or len(by_number) != 1:
            raise ScenarioError(f"{student.sourced_id} was not found")

    bench.measure(lookup)
    bench.extra["students"] = len(students)
