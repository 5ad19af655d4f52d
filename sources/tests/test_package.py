"""The SIS section of the access package (through fulfilment's section providers), and the
expiry of SIS imports after their retention period."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context
from privacy_requests.fulfilment.builders import package_sections, package_zip
from retention.services import legal_hold_place
from sources.models import SisRecord, SourceImport, StudentLink
from sources.retention import sis_imports_expire
from sources.services import student_link_confirm, student_search
from sources.tests.conftest import District

pytestmark = pytest.mark.django_db


def linked_request(district: District, index: int = 7, **fields: object):
    student = district.package.student(index)
    request = district.request_about(student, **fields)
    with tenant_context(district.org):
        (candidate,) = student_search(
            organization=district.org, actor=district.admin, identifier=student.identifier
        )
        student_link_confirm(
            organization=district.org,
            actor=district.admin,
            request=request,
            record_id=candidate.record_id,
        )
    return student, request


def package_files(district: District, request) -> dict[str, bytes]:
    with tenant_context(district.org):
        sections = package_sections(organization=district.org, request=request)
        content, _contents = package_zip(
            organization=district.org, request=request, sections=sections
        )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_has_the_sis_section_in_json_csv_and_html(district: District) -> None:
    student, request = linked_request(district)
    files = package_files(district, request)
    data = json.loads(files["data.json"])
    rows = data["sections"]["sis_student"]["rows"]
    values = {(r["record"], r["field"]): r["value"] for r in rows}
    assert values[("profile", "sourcedId")] == student.sourced_id
    assert values[("demographics", "birthDate")] == student.birth_date
    assert {r["source"] for r in rows} == {"PowerSIS"}
    assert all(r["retrieved_at"] for r in rows)
    enrollments = list(
        csv.DictReader(io.StringIO(files["sis_enrollments.csv"].decode("utf-8-sig")))
    )
    assert [e["class"] for e in enrollments] == ["Mathematics 1", "Reading 1"]
    assert enrollments[0]["terms"] == "2026-2027 School Year"
    results = data["sections"]["sis_results"]["rows"]
    assert [r["line_item"] for r in results] == ["Mathematics unit test", "Reading unit test"]
    summary = files["summary.html"].decode()
    assert "Student information system: enrollments" in summary
    assert student.identifier in summary
    # nobody else's SIS data
    other = district.package.student(8)
    assert other.sourced_id not in files["data.json"].decode()


def test_a_spanish_request_gets_the_sis_titles_in_spanish(district: District) -> None:
    _student, request = linked_request(district, language="es")
    summary = package_files(district, request)["summary.html"].decode()
    assert "Sistema de información estudiantil: inscripciones" in summary


def test_without_a_confirmed_student_there_is_no_sis_section(district: District) -> None:
    request = district.request_about(district.package.student(2))
    data = json.loads(package_files(district, request)["data.json"])
    assert not [key for key in data["sections"] if key.startswith("sis_")]


def test_imports_expire_after_the_retention_period(district: District) -> None:
    _student, request = linked_request(district)
    with tenant_context(district.org):
        assert sis_imports_expire(organization=district.org) == 0
        later = timezone.now() + timedelta(days=366)
        assert sis_imports_expire(organization=district.org, now=later) == 1
        assert not SisRecord.objects.exists()
        district.source_import.refresh_from_db()
        assert district.source_import.status == SourceImport.Status.EXPIRED
        link = StudentLink.objects.get(request=request)
        assert link.record_id is None and link.summary  # the link and what was seen stay
        assert sis_imports_expire(organization=district.org, now=later) == 0
        assert AuditEvent.objects.filter(action=Action.SIS_IMPORTS_EXPIRED.value).count() == 1


def test_a_legal_hold_on_the_category_keeps_the_imports(district: District) -> None:
    with tenant_context(district.org):
        legal_hold_place(
            organization=district.org,
            actor=district.admin,
            scope="category",
            category="sis_records",
            reason="Litigation",
            ends_on=(timezone.now() + timedelta(days=800)).date(),
        )
        later = timezone.now() + timedelta(days=366)
        assert sis_imports_expire(organization=district.org, now=later) == 0
        assert SisRecord.objects.exists()
