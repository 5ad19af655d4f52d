"""Evidence files: staff attach files gathered elsewhere to a request's package; the kind is told
from the bytes, the file is sealed under the organization's key, listed with its SHA-256 in the
package's index, removable before fulfilment, and every step audited without the file's name."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member, sign_in
from audit.actions import Action
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from k12cloud.uploads import sniff
from privacy_requests.fulfilment.models import EvidenceFile
from privacy_requests.fulfilment.services import (
    EVIDENCE_MAX_BYTES,
    evidence_add,
    package_download,
    package_prepare,
    request_fulfil,
)
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.services import RequestActionRefused, request_transition, request_verify
from privacy_requests.tests.factories import PDF_BYTES, received_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_rules")]

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
CSV_BYTES = b"student,date,status\nRosa Parent,2025-09-02,present\n"


def _office(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def pinned_time() -> Any:
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def org() -> Organization:
    organization = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD", subdivision="CA")
    with tenant_context(organization):
        OrganizationRuleSelection.objects.create(organization=organization, rule_id="ccpa")
    return organization


@pytest.fixture
def staff(org: Organization) -> User:
    return member(org, Role.PRIVACY_STAFF, full_name="Pat Staff")


@pytest.fixture
def client(staff: User) -> Client:
    return sign_in(Client(), staff)


def working(org: Organization, actor: User, **fields: Any) -> PrivacyRequest:
    request = received_request(org, actor=actor, requester_email="rosa@example.org", **fields)
    with tenant_context(org):
        request = request_verify(request=request, actor=actor, method="records_match")
        return request_transition(request=request, to_status="in_progress", actor=actor)


def page_url(org: Organization, name: str, request: PrivacyRequest, **kwargs: Any) -> str:
    return reverse(
        f"accounts:{name}", kwargs={"org_slug": org.slug, "request_id": request.pk, **kwargs}
    )


def upload(client: Client, org: Organization, request: PrivacyRequest, name: str, data: bytes):
    return client.post(
        page_url(org, "fulfilment_evidence_add", request),
        {
            "evidence-file": SimpleUploadedFile(name, data, content_type="text/plain"),
            "evidence-description": "Attendance 2025-26",
        },
    )


def evidence_rows(org: Organization) -> list[EvidenceFile]:
    with tenant_context(org):
        return list(EvidenceFile.objects.order_by("pk"))


def audit_changes(action: Action) -> list[dict[str, Any]]:
    with unscoped_all_tenants(reason="test reads audit events"):
        return [e.changes for e in AuditEvent.objects.filter(action=action.value).order_by("pk")]


# --- what a file is --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PDF_BYTES, "pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "jpeg"),
        (b"GIF89a" + b"\x00" * 8, "gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"II*\x00" + b"\x00" * 8, "tiff"),
        (_office("word/document.xml"), "docx"),
        (_office("xl/workbook.xml"), "xlsx"),
        (CSV_BYTES, "csv"),
        ("\ufeffa;b\n1;2\n".encode(), "csv"),
    ],
)
def test_the_kind_is_told_from_the_bytes(content: bytes, kind: str) -> None:
    found = sniff(content)
    assert found is not None and found.key == kind


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
        b"\x7fELF\x02\x01\x01",  # a Linux program
        _office("ppt/presentation.xml"),  # an Office file we do not accept
        b"PK\x03\x04 not really a zip",
        b"just one line of prose without columns\n",
        b"a,b\n1,2,3\n",  # rows of different widths: not a table
        b"col,\x00umn\n1,2\n",  # a NUL byte: binary
        "é".encode("latin-1") + b",b\n1,2\n",  # not UTF-8
        b"",
    ],
)
def test_other_bytes_are_not_accepted(content: bytes) -> None:
    assert sniff(content) is None


# --- adding, over HTTP -----------------------------------------------------------------------


def test_staff_add_a_file_that_is_sealed_listed_and_audited_without_its_name(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    response = upload(client, org, request, "Rosa-attendance.pdf", PDF_BYTES)
    assert response.status_code == 302

    [evidence] = evidence_rows(org)
    assert evidence.kind == "pdf" and evidence.size == len(PDF_BYTES)
    assert evidence.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert evidence.added_by == staff and evidence.file_name == "Rosa-attendance.pdf"
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT content, file_name, description FROM privacy_requests_evidencefile"
            " WHERE id = %s",
            [evidence.pk],
        )
        stored = cursor.fetchone()
    assert all(value.startswith("k12e1:") for value in stored)  # all three sealed
    assert not any("Rosa" in value or "Attendance" in value for value in stored)

    [changes] = audit_changes(Action.REQUEST_EVIDENCE_ADDED)
    assert changes == {
        "evidence_id": evidence.pk,
        "kind": "pdf",
        "size": len(PDF_BYTES),
        "sha256": evidence.sha256,
    }
    page = client.get(page_url(org, "fulfilment", request)).content.decode()
    assert "Rosa-attendance.pdf" in page and "Attendance 2025-26" in page
    assert "Redaction stays with your organization" in page


def test_a_program_named_like_a_pdf_is_refused_on_the_field_and_nothing_is_kept(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    response = upload(client, org, request, "report.pdf", b"MZ\x90\x00" + b"\x00" * 64)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This file is not one the portal accepts" in body
    assert 'id="evidence-file_error"' in body or "evidence-file" in body
    assert evidence_rows(org) == []
    assert audit_changes(Action.REQUEST_EVIDENCE_ADDED) == []


def test_a_csv_named_like_a_pdf_is_kept_as_what_it_is(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    assert upload(client, org, request, "scan.pdf", CSV_BYTES).status_code == 302
    [evidence] = evidence_rows(org)
    assert evidence.kind == "csv"


def test_limits_and_request_state_are_refused_clearly(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    too_big = b"%PDF-" + b"0" * EVIDENCE_MAX_BYTES
    response = upload(client, org, request, "big.pdf", too_big)
    assert response.status_code == 400
    assert "larger than 10 MB" in response.content.decode()

    unverified = received_request(org, actor=staff, requester_email="x@example.org")
    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        evidence_add(
            organization=org, actor=staff, request=unverified, file_name="a.pdf", content=PDF_BYTES
        )
    assert refused.value.code == "not_verified"

    deletion = working(org, staff, request_type="delete")
    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        evidence_add(
            organization=org, actor=staff, request=deletion, file_name="a.pdf", content=PDF_BYTES
        )
    assert refused.value.code == "wrong_type"
    assert evidence_rows(org) == []


def test_a_file_name_with_a_path_keeps_only_its_last_part(org: Organization, staff: User) -> None:
    request = working(org, staff)
    with tenant_context(org):
        evidence = evidence_add(
            organization=org,
            actor=staff,
            request=request,
            file_name="..\\..\\windows/evil/../scan.pdf",
            content=PDF_BYTES,
        )
    assert evidence.file_name == "scan.pdf"


# --- the package -----------------------------------------------------------------------------


def test_the_package_holds_each_file_and_its_index_lists_every_file_with_its_sha256(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    assert upload(client, org, request, "attendance.pdf", PDF_BYTES).status_code == 302
    assert upload(client, org, request, "attendance.pdf", CSV_BYTES).status_code == 302  # same
    with tenant_context(org):
        package = package_prepare(organization=org, actor=staff, request=request)
        content = package_download(organization=org, package=package, by_requester=False)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}

    assert files["evidence/attendance.pdf"] == PDF_BYTES
    assert files["evidence/attendance (2).pdf"] == CSV_BYTES  # a name used twice is numbered
    index = json.loads(files["index.json"])
    listed = {entry["name"]: entry for entry in index["files"]}
    assert set(listed) == set(files) - {"index.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert entry["bytes"] == len(files[name])
    assert listed["evidence/attendance.pdf"]["description"] == "Attendance 2025-26"
    assert listed["evidence/attendance.pdf"]["added_by"] == staff.email
    summary = files["summary.html"].decode()
    assert hashlib.sha256(PDF_BYTES).hexdigest() in summary
    assert "Files in this package" in summary
    # the staff preview lists the same files, with their hashes
    assert {c["name"] for c in package.contents} == set(files)


def test_fulfil_is_refused_while_the_package_is_older_than_the_evidence(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
    assert upload(client, org, request, "late.pdf", PDF_BYTES).status_code == 302
    page = client.get(page_url(org, "fulfilment", request)).content.decode()
    assert "Evidence files changed after this package was prepared" in page

    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        request_fulfil(organization=org, actor=staff, request=request)
    assert refused.value.code == "package_outdated"

    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
        request_fulfil(organization=org, actor=staff, request=request)
        assert PrivacyRequest.objects.get(pk=request.pk).outcome == "fulfilled"


def test_a_file_removed_before_fulfilment_leaves_nothing_and_outdates_the_package(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    assert upload(client, org, request, "wrong-child.pdf", PDF_BYTES).status_code == 302
    [evidence] = evidence_rows(org)
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
    remove = page_url(org, "fulfilment_evidence_remove", request, evidence_id=evidence.pk)
    assert client.post(remove).status_code == 302
    assert evidence_rows(org) == []
    [changes] = audit_changes(Action.REQUEST_EVIDENCE_REMOVED)
    assert changes["sha256"] == evidence.sha256 and "wrong-child" not in json.dumps(changes)
    with tenant_context(org), pytest.raises(RequestActionRefused) as refused:
        request_fulfil(organization=org, actor=staff, request=request)
    assert refused.value.code == "package_outdated"
    assert client.post(remove).status_code == 404  # gone


def test_after_fulfilment_files_cannot_be_removed_or_added(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    assert upload(client, org, request, "a.pdf", PDF_BYTES).status_code == 302
    [evidence] = evidence_rows(org)
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
        request_fulfil(organization=org, actor=staff, request=request)
    remove = page_url(org, "fulfilment_evidence_remove", request, evidence_id=evidence.pk)
    response = client.post(remove)
    assert response.status_code == 409 and "This request is closed." in response.content.decode()
    assert upload(client, org, request, "b.pdf", PDF_BYTES).status_code == 400
    assert len(evidence_rows(org)) == 1


def test_staff_download_is_audited_and_another_tenant_gets_404(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    assert upload(client, org, request, "a.pdf", PDF_BYTES).status_code == 302
    [evidence] = evidence_rows(org)
    download = page_url(org, "fulfilment_evidence_download", request, evidence_id=evidence.pk)
    response = client.post(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert len(audit_changes(Action.REQUEST_EVIDENCE_DOWNLOADED)) == 1

    other = OrganizationFactory(slug="hudson-csd")
    stranger = sign_in(Client(), member(other, Role.ORG_ADMIN))
    assert stranger.post(download).status_code == 404
    cross = reverse(
        "accounts:fulfilment_evidence_download",
        kwargs={"org_slug": other.slug, "request_id": request.pk, "evidence_id": evidence.pk},
    )
    assert stranger.post(cross).status_code == 404


# --- the API ---------------------------------------------------------------------------------


def test_the_api_lists_adds_and_removes_evidence(
    org: Organization, staff: User, client: Client
) -> None:
    request = working(org, staff)
    base = reverse(
        "accounts_api:request_evidence", kwargs={"org_slug": org.slug, "request_id": request.pk}
    )
    created = client.post(
        base, {"file": SimpleUploadedFile("x.csv", CSV_BYTES), "description": "Grades"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "csv" and created.json()["added_by"] == staff.email

    refused = client.post(base, {"file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00")})
    assert refused.status_code == 400 and "file" in refused.json()
    missing = client.post(base, {"description": "no file"})
    assert missing.status_code == 400 and "file" in missing.json()

    listed = client.get(base).json()
    assert [e["sha256"] for e in listed] == [hashlib.sha256(CSV_BYTES).hexdigest()]
    remove = reverse(
        "accounts_api:request_evidence_remove",
        kwargs={"org_slug": org.slug, "request_id": request.pk, "evidence_id": listed[0]["id"]},
    )
    assert client.delete(remove).status_code == 204
    assert client.get(base).json() == []
    assert client.delete(remove).status_code == 404


# --- the page's queries ----------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_evidence_list_costs_one_query_however_many_files(
    org: Organization, staff: User, client: Client
) -> None:
    from privacy_requests.tests.test_fulfilment import EXPECTED_PACKAGE_PAGE_QUERIES

    request = working(org, staff)
    url = page_url(org, "fulfilment", request)
    none = _queries(client, url)
    for number in range(3):
        assert upload(client, org, request, f"{number}.pdf", PDF_BYTES).status_code == 302
    with tenant_context(org):
        package_prepare(organization=org, actor=staff, request=request)
    assert _queries(client, url) == none == EXPECTED_PACKAGE_PAGE_QUERIES


def test_a_spanish_summary_lists_the_files_in_spanish(org: Organization, staff: User) -> None:
    request = working(org, staff, language="es")
    with tenant_context(org):
        evidence_add(
            organization=org, actor=staff, request=request, file_name="a.pdf", content=PDF_BYTES
        )
        package = package_prepare(organization=org, actor=staff, request=request)
        content = package_download(organization=org, package=package, by_requester=False)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        summary = archive.read("summary.html").decode()
    assert "Archivos de este paquete" in summary and "Files in this package" not in summary
