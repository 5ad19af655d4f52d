"""The SIS source pages and the request's SIS page: flows, refusals and exact query counts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import member, sign_in
from k12cloud.tenancy import tenant_context
from sources.models import DataSource, SourceImport, StudentLink
from sources.tests.conftest import District, import_package
from sources.tests.fixtures import oneroster_package

pytestmark = pytest.mark.django_db


def url(district: District, name: str, **kwargs: Any) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": district.org.slug, **kwargs})


@pytest.fixture
def admin_client(district: District) -> Client:
    return sign_in(Client(), district.admin)


@pytest.fixture
def staff_client(district: District) -> Client:
    return sign_in(
        Client(), member(district.org, Role.PRIVACY_STAFF, email="staff@lincoln.example")
    )


def test_upload_a_package_then_see_the_import(district: District, admin_client: Client) -> None:
    package = oneroster_package(schools=2, students_per_school=5)
    upload = SimpleUploadedFile("export.zip", package.content, "application/zip")
    response = admin_client.post(
        url(district, "source_detail", source_id=district.source.pk),
        {"action": "upload", "package": upload},
    )
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "users.csv" in page.content.decode()
    with tenant_context(district.org):
        latest = SourceImport.objects.order_by("-pk").first()
    assert latest is not None and latest.status == SourceImport.Status.SUCCEEDED
    assert latest.started_by == district.admin


def test_a_refused_package_shows_file_line_and_field(
    district: District, admin_client: Client
) -> None:
    package = oneroster_package(students_per_school=3, breaks=frozenset({"bad_birth_date"}))
    upload = SimpleUploadedFile("bad.zip", package.content, "application/zip")
    response = admin_client.post(
        url(district, "source_detail", source_id=district.source.pk), {"package": upload}
    )
    page = admin_client.get(response["Location"]).content.decode()
    assert "demographics.csv" in page and "birthDate" in page and "<td>6</td>" in page


def test_an_upload_without_a_file_is_a_form_error(district: District, admin_client: Client) -> None:
    response = admin_client.post(url(district, "source_detail", source_id=district.source.pk), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_adding_a_rest_source_without_its_connection_is_refused(
    district: District, admin_client: Client
) -> None:
    response = admin_client.post(
        url(district, "sources"), {"kind": "oneroster_rest", "name": "Live"}
    )
    assert response.status_code == 400
    assert "A REST connection needs this." in response.content.decode()


def test_search_confirm_and_see_the_records(district: District, staff_client: Client) -> None:
    assert district.package.twins is not None
    first, second = district.package.twins
    request = district.request_about(second)
    page = url(district, "request_sis", request_id=request.pk)
    refused = staff_client.post(page, {"given_name": "Maria", "family_name": "Garcia"})
    assert refused.status_code == 400
    assert "A name alone is not enough" in refused.content.decode()
    found = staff_client.post(
        page, {"given_name": "Maria", "family_name": "Garcia", "birth_date": second.birth_date}
    )
    assert found.status_code == 200
    html = found.content.decode()
    assert second.birth_date in html and first.birth_date not in html
    candidate = found.context["candidates"][0]
    confirmed = staff_client.post(
        url(district, "request_sis_confirm", request_id=request.pk),
        {"record": candidate.record_id},
    )
    assert confirmed.status_code == 302
    html = staff_client.get(page).content.decode()
    assert "Mathematics 2" in html and "The requester is a guardian linked in the SIS" in html


def test_a_deletion_request_records_the_sis_deletion(
    district: District, staff_client: Client
) -> None:
    student = district.package.student(2)
    request = district.request_about(student, request_type="delete")
    page = url(district, "request_sis", request_id=request.pk)
    found = staff_client.post(page, {"identifier": student.identifier})
    staff_client.post(
        url(district, "request_sis_confirm", request_id=request.pk),
        {"record": found.context["candidates"][0].record_id},
    )
    with tenant_context(district.org):
        link = StudentLink.objects.get(request=request)
    assert "Record the SIS deletion as done" in staff_client.get(page).content.decode()
    response = staff_client.post(
        url(district, "request_sis_deletion", request_id=request.pk, link_id=link.pk),
        {"note": "Deleted in PowerSIS by the registrar"},
    )
    assert response.status_code == 302
    assert "Recorded as done" in staff_client.get(page).content.decode()


def test_confirming_another_tenants_record_is_refused(
    district: District, staff_client: Client
) -> None:
    from accounts.tests.factories import OrganizationFactory
    from sources.services import data_source_save, student_search

    other = OrganizationFactory(slug="hudson-csd")
    other_admin = member(other)
    with tenant_context(other):
        source = data_source_save(
            organization=other, actor=other_admin, kind=DataSource.Kind.ONEROSTER_CSV, name="B"
        )
    package = oneroster_package(schools=1, students_per_school=3)
    import_package(other, other_admin, source, package)
    with tenant_context(other):
        (theirs,) = student_search(
            organization=other, actor=other_admin, identifier=package.student(0).identifier
        )
    request = district.request_about(district.package.student(0))
    staff_client.post(
        url(district, "request_sis_confirm", request_id=request.pk), {"record": theirs.record_id}
    )
    with tenant_context(district.org):
        assert not StudentLink.objects.filter(request=request).exists()


# --- exact query counts (the same with 1 or 3 links / imports) ---------------------------------

SOURCE_LIST_QUERIES = 11
SOURCE_DETAIL_QUERIES = 11
IMPORT_DETAIL_QUERIES = 10
REQUEST_SIS_QUERIES_PER_LINK = 13
REQUEST_SIS_BASE_QUERIES = 14


def test_source_pages_query_counts(
    district: District, admin_client: Client, django_assert_num_queries: Any
) -> None:
    for _ in range(2):  # more imports do not mean more queries
        with django_assert_num_queries(SOURCE_LIST_QUERIES):
            assert admin_client.get(url(district, "sources")).status_code == 200
        with django_assert_num_queries(SOURCE_DETAIL_QUERIES):
            response = admin_client.get(
                url(district, "source_detail", source_id=district.source.pk)
            )
            assert response.status_code == 200
        with django_assert_num_queries(IMPORT_DETAIL_QUERIES):
            response = admin_client.get(
                url(district, "source_import_detail", import_id=district.source_import.pk)
            )
            assert response.status_code == 200
        import_package(district.org, district.admin, district.source, district.package)


def test_request_sis_page_query_count(
    district: District, staff_client: Client, django_assert_num_queries: Any
) -> None:
    student = district.package.student(1)
    request = district.request_about(student)
    page = url(district, "request_sis", request_id=request.pk)
    with django_assert_num_queries(REQUEST_SIS_BASE_QUERIES):
        assert staff_client.get(page).status_code == 200
    found = staff_client.post(page, {"identifier": student.identifier})
    staff_client.post(
        url(district, "request_sis_confirm", request_id=request.pk),
        {"record": found.context["candidates"][0].record_id},
    )
    with django_assert_num_queries(REQUEST_SIS_BASE_QUERIES + REQUEST_SIS_QUERIES_PER_LINK):
        assert staff_client.get(page).status_code == 200


# --- the ops command ---------------------------------------------------------------------------


def test_the_command_imports_a_package(district: District, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(oneroster_package(schools=1, students_per_school=4).content)
    out = io.StringIO()
    call_command("import_oneroster", "--organization", "lincoln-usd", str(path), stdout=out)
    assert "users.csv: 9" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--organization", "nowhere", "{zip}"], "--organization"),
        (["--organization", "lincoln-usd", "/no/such.zip"], "ZIP"),
        (["--organization", "lincoln-usd", "--source", "Nope", "{zip}"], "--source"),
    ],
)
def test_the_command_names_a_bad_argument(
    district: District, tmp_path: Path, arguments: list[str], named: str
) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(b"PK")
    with pytest.raises(CommandError) as refused:
        call_command("import_oneroster", *[a.replace("{zip}", str(path)) for a in arguments])
    assert refused.value.returncode == 2
    assert str(refused.value).startswith(named)


def test_the_command_reports_a_refused_package(district: District, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(oneroster_package(breaks=frozenset({"no_manifest"})).content)
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_oneroster", "--organization", "lincoln-usd", str(path), stderr=err)
    assert refused.value.returncode == 1
    assert "manifest.csv: is missing" in err.getvalue()
