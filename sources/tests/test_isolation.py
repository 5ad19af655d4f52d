"""Another district's SIS data never reaches this one, with the application's tenant scoping
on and off (RLS alone), through pages, the API, the search and the ORM."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from k12cloud.tenancy import tenant_context
from privacy_requests.tests.factories import stored_request
from sources.models import DataSource, SisLookupKey, SisRecord, SourceImport, StudentLink
from sources.services import data_source_save, student_link_confirm, student_search
from sources.tests.conftest import District, import_package
from sources.tests.fixtures import oneroster_package

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["app-scoping", "rls-only"])
def scoping(request: pytest.FixtureRequest, settings: object) -> bool:
    settings.TENANCY_APPLICATION_SCOPING = request.param  # type: ignore[attr-defined]
    return bool(request.param)


@pytest.fixture
def other(district: District) -> District:
    org = OrganizationFactory(slug="hudson-csd", name="Hudson CSD")
    admin = member(org, Role.ORG_ADMIN, email="admin@hudson.example")
    with tenant_context(org):
        source = data_source_save(
            organization=org, actor=admin, kind=DataSource.Kind.ONEROSTER_CSV, name="HudsonSIS"
        )
    package = oneroster_package(schools=1, students_per_school=4, seed=99)
    done = import_package(org, admin, source, package)
    return District(org, admin, source, package, done)


def test_b_ids_in_a_urls_are_404(scoping: bool, district: District, other: District) -> None:
    student = other.package.student(0)
    b_request = stored_request(other.org, request_type="delete")
    with tenant_context(other.org):
        (candidate,) = student_search(
            organization=other.org, actor=other.admin, identifier=student.identifier
        )
        link = student_link_confirm(
            organization=other.org,
            actor=other.admin,
            request=b_request,
            record_id=candidate.record_id,
        )
    client = sign_in(Client(), district.admin)
    a = {"org_slug": district.org.slug}
    pages = [
        reverse("accounts:source_detail", kwargs={**a, "source_id": other.source.pk}),
        reverse("accounts:source_import_detail", kwargs={**a, "import_id": other.source_import.pk}),
        reverse("accounts:request_sis", kwargs={**a, "request_id": b_request.pk}),
        reverse("accounts_api:source_import", kwargs={**a, "import_id": other.source_import.pk}),
        reverse("accounts_api:request_sis_records", kwargs={**a, "request_id": b_request.pk}),
    ]
    assert {u: client.get(u).status_code for u in pages} == dict.fromkeys(pages, 404)
    a_request = district.request_about(district.package.student(0), request_type="delete")
    deletion = reverse(
        "accounts:request_sis_deletion",
        kwargs={**a, "request_id": a_request.pk, "link_id": link.pk},
    )
    assert client.post(deletion, {"note": "x"}).status_code == 404
    confirm = reverse("accounts_api:request_sis_confirm", kwargs={**a, "request_id": a_request.pk})
    refused = client.post(confirm, {"record": candidate.record_id}, content_type="application/json")
    assert refused.status_code == 400
    with tenant_context(district.org):
        assert not StudentLink.objects.filter(request=a_request).exists()


def test_rls_alone_keeps_b_rows_out_of_a_context(
    scoping: bool, district: District, other: District
) -> None:
    with tenant_context(district.org):
        imports = set(SourceImport.objects.values_list("organization_id", flat=True))
        records = set(SisRecord.objects.values_list("organization_id", flat=True))
        keys = set(SisLookupKey.objects.values_list("organization_id", flat=True))
        found = student_search(
            organization=district.org,
            actor=district.admin,
            identifier=other.package.student(0).identifier,
        )
    assert imports == records == keys == {district.org.pk}
    # the same student number exists in both districts: only A's student is found
    assert [(c.source_id, c.import_id) for c in found] == [
        (district.source.pk, district.source_import.pk)
    ]


def test_a_member_of_a_sees_only_a_sources(
    scoping: bool, district: District, other: District
) -> None:
    client = sign_in(Client(), district.admin)
    page = client.get(reverse("accounts:sources", kwargs={"org_slug": district.org.slug}))
    api = client.get(reverse("accounts_api:source_list", kwargs={"org_slug": district.org.slug}))
    assert b"PowerSIS" in page.content and b"HudsonSIS" not in page.content
    assert [s["name"] for s in api.json()] == ["PowerSIS"]
