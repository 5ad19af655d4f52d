"""The SIS sources API: upload, search (name alone refused), confirm, records, deletion;
viewers refused; another tenant's ids are 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from sources.tests.conftest import District
from sources.tests.fixtures import oneroster_package

pytestmark = pytest.mark.django_db


def api(district: District, name: str, **kwargs: Any) -> str:
    return reverse(f"accounts_api:{name}", kwargs={"org_slug": district.org.slug, **kwargs})


@pytest.fixture
def staff(district: District) -> Client:
    return sign_in(Client(), member(district.org, Role.PRIVACY_STAFF))


def test_upload_refused_and_imported(district: District) -> None:
    admin = sign_in(Client(), district.admin)
    bad = oneroster_package(students_per_school=2, breaks=frozenset({"users_no_sourcedid"}))
    response = admin.post(
        api(district, "source_upload", source_id=district.source.pk),
        {"package": SimpleUploadedFile("bad.zip", bad.content)},
    )
    assert response.status_code == 422
    assert response.json()["problems"][0] == {
        "file": "users.csv",
        "line": 1,
        "field": "sourcedId",
        "message": "the header has no such column",
    }
    good = oneroster_package(schools=1, students_per_school=2)
    response = admin.post(
        api(district, "source_upload", source_id=district.source.pk),
        {"package": SimpleUploadedFile("good.zip", good.content)},
    )
    assert response.status_code == 201
    assert response.json()["counts"]["users.csv"] == 5
    listed = admin.get(api(district, "source_list")).json()
    assert listed[0]["current_import"]["id"] == response.json()["id"]
    assert "client_secret" not in listed[0]
    missing = admin.post(api(district, "source_upload", source_id=district.source.pk), {})
    assert missing.status_code == 400 and "package" in missing.json()


def test_search_confirm_records_and_deletion(district: District, staff: Client) -> None:
    student = district.package.student(6)
    request = district.request_about(student, request_type="delete")
    search = api(district, "request_sis_search", request_id=request.pk)
    refused = staff.post(
        search, {"given_name": "Maria", "family_name": "Garcia"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "birth_date" in refused.json()
    bad_date = staff.post(search, {"birth_date": "2015-02-30"}, content_type="application/json")
    assert bad_date.status_code == 400 and "birth_date" in bad_date.json()
    found = staff.post(
        search,
        {
            "given_name": student.given_name,
            "family_name": student.family_name,
            "birth_date": student.birth_date,
        },
        content_type="application/json",
    ).json()
    (candidate,) = found["candidates"]
    assert candidate["sourced_id"] == student.sourced_id and found["source_errors"] == []
    link = staff.post(
        api(district, "request_sis_confirm", request_id=request.pk),
        {"record": candidate["record_id"]},
        content_type="application/json",
    )
    assert link.status_code == 201 and link.json()["guardianship"] == "confirmed"
    records = staff.get(api(district, "request_sis_records", request_id=request.pk)).json()
    assert records[0]["demographics"]["birthDate"] == student.birth_date
    deletion = api(
        district, "request_sis_deletion", request_id=request.pk, link_id=link.json()["id"]
    )
    assert (
        staff.post(deletion, {"note": "done"}, content_type="application/json").status_code == 200
    )
    assert staff.post(deletion, {}, content_type="application/json").status_code == 409


def test_viewers_are_refused_and_other_tenants_ids_are_404(district: District) -> None:
    viewer = sign_in(Client(), member(district.org, Role.VIEWER))
    request = district.request_about(district.package.student(0))
    assert (
        viewer.get(api(district, "request_sis_records", request_id=request.pk)).status_code == 403
    )
    assert viewer.get(api(district, "source_list")).status_code == 403
    other = OrganizationFactory(slug="hudson-csd")
    outsider = sign_in(Client(), member(other, Role.ORG_ADMIN))
    foreign = reverse(
        "accounts_api:source_import",
        kwargs={"org_slug": "hudson-csd", "import_id": district.source_import.pk},
    )
    assert outsider.get(foreign).status_code == 404
    theirs = reverse(
        "accounts_api:request_sis_records",
        kwargs={"org_slug": "hudson-csd", "request_id": request.pk},
    )
    assert outsider.get(theirs).status_code == 404


def test_the_openapi_schema_documents_the_sources_api(district: District) -> None:
    schema = sign_in(Client(), district.admin).get(reverse("api_schema") + "?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/orgs/{org_slug}/sources/requests/{request_id}/search/" in paths
    assert "/api/v1/orgs/{org_slug}/sources/{source_id}/imports/" in paths
