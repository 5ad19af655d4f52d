"""Importing OneRoster CSV packages: what is stored (encrypted), and how bad packages are
refused with the file, line and field named."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from sources.importing import oneroster_package_import
from sources.models import DataSource, SisLookupKey, SisRecord, SourceImport
from sources.services import data_source_save
from sources.tests.fixtures import oneroster_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")


@pytest.fixture
def admin(org):
    return member(org, Role.ORG_ADMIN, email="admin@lincoln.example")


@pytest.fixture
def source(org, admin) -> DataSource:
    with tenant_context(org):
        return data_source_save(
            organization=org, actor=admin, kind=DataSource.Kind.ONEROSTER_CSV, name="PowerSIS"
        )


def run_import(org, admin, source, content: bytes, name: str = "export.zip") -> SourceImport:
    with tenant_context(org):
        return oneroster_package_import(
            organization=org, actor=admin, source=source, stream=io.BytesIO(content), file_name=name
        )


def test_a_package_is_imported_with_counts_and_encrypted_rows(org, admin, source) -> None:
    package = oneroster_package(schools=3, students_per_school=20)
    done = run_import(org, admin, source, package.content)
    assert done.status == SourceImport.Status.SUCCEEDED, done.errors
    assert done.oneroster_version == "1.2"
    assert done.counts["users.csv"] == 3 + 2 * 60  # teachers, students, guardians
    assert done.counts["demographics.csv"] == 60
    assert done.counts["enrollments.csv"] == 6 + 2 * 60
    assert done.counts["results.csv"] == 2 * 60
    assert len(done.sha256) == 64
    with tenant_context(org):
        assert SisRecord.objects.filter(kind=SisRecord.Kind.USER).count() == 123
        assert SisLookupKey.objects.filter(kind=SisLookupKey.Kind.NAME_BIRTH_DATE).count() == 60
        event = AuditEvent.objects.get(action=Action.SIS_PACKAGE_IMPORTED.value)
    assert event.changes["counts"]["users.csv"] == 123
    student = package.student(3)
    # at rest: no name, no birth date, no sourcedId
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute("SELECT data, sourced_id_index FROM sources_sisrecord")
        stored = " ".join(f"{d} {i}" for d, i in cursor.fetchall())
    assert stored.startswith("k12e1:")
    for value in (student.family_name, student.birth_date, student.sourced_id, student.email):
        assert value not in stored


def test_oneroster_1_1_with_the_role_in_users_csv(org, admin, source) -> None:
    package = oneroster_package(schools=2, students_per_school=5, version="1.1")
    done = run_import(org, admin, source, package.content)
    assert done.status == SourceImport.Status.SUCCEEDED, done.errors
    assert "roles.csv" not in done.counts
    with tenant_context(org):
        user = SisRecord.objects.filter(kind=SisRecord.Kind.USER).order_by("pk")[1]
        derived = json.loads(user.data)["derived"]
    assert derived["role"] == "student"
    assert derived["orgSourcedIds"] == ["school-1"]


def test_a_new_import_replaces_the_previous_one(org, admin, source) -> None:
    first = run_import(org, admin, source, oneroster_package(students_per_school=5).content)
    second = run_import(org, admin, source, oneroster_package(students_per_school=4).content)
    with tenant_context(org):
        first.refresh_from_db()
        assert first.status == SourceImport.Status.REPLACED
        assert set(SisRecord.objects.values_list("source_import_id", flat=True)) == {second.pk}
        assert not SisLookupKey.objects.filter(source_import_id=first.pk).exists()


@pytest.mark.parametrize(
    ("breaks", "expected"),
    [
        ("no_manifest", [("manifest.csv", None, "")]),
        ("missing_file", [("manifest.csv", 11, "file.enrollments")]),
        ("users_no_sourcedid", [("users.csv", 1, "sourcedId")]),
        ("bad_birth_date", [("demographics.csv", 6, "birthDate")]),
    ],
)
def test_malformed_packages_are_refused_naming_file_line_and_field(
    org, admin, source, breaks: str, expected: list[tuple[str, int | None, str]]
) -> None:
    package = oneroster_package(students_per_school=5, breaks=frozenset({breaks}))
    done = run_import(org, admin, source, package.content)
    assert done.status == SourceImport.Status.FAILED
    assert [(e["file"], e["line"], e["field"]) for e in done.errors] == expected
    assert all(e["message"] for e in done.errors)
    with tenant_context(org):
        assert not SisRecord.objects.exists()
        event = AuditEvent.objects.get(action=Action.SIS_PACKAGE_REFUSED.value)
    assert event.changes["problems"] == 1


def test_a_file_that_is_not_a_zip_is_refused(org, admin, source) -> None:
    done = run_import(org, admin, source, b"sourcedId,givenName\n1,Ann\n", "users.csv")
    assert done.status == SourceImport.Status.FAILED
    assert "not a zip" in done.errors[0]["message"]


def test_a_delta_package_is_refused(org, admin, source) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "manifest.csv",
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,delta\n",
        )
        archive.writestr("users.csv", "sourcedId,givenName,familyName\n")
    done = run_import(org, admin, source, buffer.getvalue())
    assert [(e["file"], e["line"], e["field"]) for e in done.errors] == [
        ("manifest.csv", 4, "file.users")
    ]
    assert "delta" in done.errors[0]["message"]


def test_a_damaged_member_is_refused_not_a_server_error(org, admin, source) -> None:
    import zipfile

    buffer = io.BytesIO()
    users = "sourcedId,givenName,familyName\n" + "".join(f"u{i},Ann,Lee\n" for i in range(50))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(
            "manifest.csv",
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,bulk\n",
        )
        archive.writestr("users.csv", users)
    damaged = buffer.getvalue().replace(b"u25,Ann", b"u25,Bob")  # the CRC no longer matches
    done = run_import(org, admin, source, damaged)
    assert done.status == SourceImport.Status.FAILED
    assert (done.errors[0]["file"], done.errors[0]["line"]) == ("users.csv", None)
    assert "damaged" in done.errors[0]["message"]
