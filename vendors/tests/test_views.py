"""The vendor pages over HTTP: forms, errors, exact query counts, the vendor's inbox."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import sign_in
from k12cloud.tenancy import tenant_context
from vendors.models import TaskStatus, Vendor, VendorTask, VendorTaskReceipt
from vendors.services import VendorValues, vendor_save
from vendors.tests.factories import district_request, scene

pytestmark = pytest.mark.django_db


def url(org_slug: str, name: str, **kwargs: object) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org_slug, **kwargs})


def queries(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)
    assert response.status_code == 200, response.status_code
    return len(captured)


# The portal's base cost is 11 (privacy_requests/tests/test_request_views.py).
# Vendor list: the vendors with their organizations, and the forwarding policy.
EXPECTED_LIST_QUERIES = 9 + 2
# A request's vendor tasks: the request, the tasks with vendors, their files, the policy, the
# active vendors for the form, and the organization's data keys (read once).
EXPECTED_REQUEST_TASKS_QUERIES = 9 + 6
# The inbox: the forwarded tasks. A forwarded task: the task, the organization's data keys
# (read once), its files.
EXPECTED_INBOX_QUERIES = 9 + 1
EXPECTED_RECEIPT_QUERIES = 9 + 3


def test_vendor_list_query_count_is_exact_and_constant() -> None:
    s = scene()
    client = sign_in(Client(), s.district_admin)
    page = url("lincoln-usd", "vendor_list")
    few = queries(client, page)
    with tenant_context(s.district):
        for n in range(5):
            vendor_save(
                organization=s.district,
                actor=None,
                values=VendorValues(name=f"Vendor {n}", portal_organization=s.vendor_org),
            )
    assert queries(client, page) == few == EXPECTED_LIST_QUERIES


def test_adding_a_vendor_through_the_form_and_errors_name_the_field() -> None:
    s = scene()
    client = sign_in(Client(), s.district_admin)
    bad = client.post(
        url("lincoln-usd", "vendor_create"),
        {
            "name": "Reader+",
            "contact_emails": "nope",
            "access_response_days": "45",
            "disposal_days": "0",
        },
    )
    assert bad.status_code == 400
    assert "disposal_days" in bad.context["form"].errors
    good = client.post(
        url("lincoln-usd", "vendor_create"),
        {
            "name": "Reader+",
            "contact_emails": "a@reader.example\nb@reader.example",
            "data_categories": "name, reading level",
            "dpa_signed_on": "2025-08-01",
            "dpa_expires_on": "2028-07-31",
            "access_response_days": "30",
            "disposal_days": "60",
            "is_active": "on",
        },
    )
    assert good.status_code == 302
    with tenant_context(s.district):
        vendor = Vendor.objects.get(name="Reader+")
    assert vendor.contact_email_list == ["a@reader.example", "b@reader.example"]
    assert vendor.data_categories == ["name", "reading level"]
    assert vendor.dpa_expires_on == date(2028, 7, 31)
    duplicate = client.post(
        url("lincoln-usd", "vendor_edit", vendor_id=s.off_portal.pk),
        {"name": "reader+", "access_response_days": "45", "disposal_days": "60"},
    )
    assert duplicate.status_code == 400
    assert "name" in duplicate.context["form"].errors


def test_request_vendor_tasks_page_query_count_is_exact_and_constant() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2030, 6, 28))
    client = sign_in(Client(), s.district_staff)
    page = url("lincoln-usd", "request_vendor_tasks", request_id=pr.pk)
    assert queries(client, page) == EXPECTED_REQUEST_TASKS_QUERIES - 1  # no tasks: no files
    s.forward(pr, vendors=[s.on_portal])
    one = queries(client, page)
    s.forward(pr, vendors=[s.off_portal])
    s.forward(pr, vendors=[s.on_portal], kind="correction")
    assert queries(client, page) == one == EXPECTED_REQUEST_TASKS_QUERIES


def test_forwarding_through_the_page_shares_only_the_ticked_identifiers() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2030, 6, 28))
    client = sign_in(Client(), s.district_staff)
    page = url("lincoln-usd", "request_vendor_tasks", request_id=pr.pk)
    refused = client.post(page, {"vendors": [s.on_portal.pk], "kind": "access_export"})
    assert refused.status_code == 400
    assert "identifiers" in refused.context["forward_form"].errors
    response = client.post(
        page,
        {
            "vendors": [s.on_portal.pk],
            "kind": "access_export",
            "identifiers": ["subject_birth_date", "student_id"],
            "student_id": "S-100",
            "instructions": "All reading logs.",
        },
    )
    assert response.status_code == 302
    with tenant_context(s.vendor_org):
        receipt = VendorTaskReceipt.objects.get()
    assert dict(receipt.identifier_items) == {
        "Student's birth date": "2014-05-02",
        "Student ID": "S-100",
    }


def test_the_request_page_shows_each_vendor_task_status() -> None:
    s = scene()
    pr = district_request(s.district)
    s.forward(pr, vendors=[s.on_portal, s.off_portal])
    client = sign_in(Client(), s.district_staff)
    page = client.get(url("lincoln-usd", "request_detail", request_id=pr.pk)).content.decode()
    assert "BrightPath Learning: Access: export the student&#x27;s data · Waiting" in page
    assert "QuizCraft" in page


def test_vendor_staff_answer_in_their_own_inbox_and_the_district_sees_it() -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr)
    client = sign_in(Client(), s.vendor_staff)
    inbox = url("brightpath", "vendor_inbox")
    few = queries(client, inbox)
    assert few == EXPECTED_INBOX_QUERIES
    with tenant_context(s.vendor_org):
        receipt = VendorTaskReceipt.objects.get()
    assert queries(client, url("brightpath", "vendor_receipt", receipt_id=receipt.pk)) == (
        EXPECTED_RECEIPT_QUERIES
    )
    page = client.get(url("brightpath", "vendor_receipt", receipt_id=receipt.pk))
    text = page.content.decode()
    assert "Lincoln USD" in text and "Maya Lopez" in text and "S-100" in text
    for private in ("parent@example.org", "reading app", "Lincoln Elementary", pr.reference):
        assert private not in text
    missing_file = client.post(
        url("brightpath", "vendor_receipt", receipt_id=receipt.pk), {"answer_kind": "export"}
    )
    assert missing_file.status_code == 400
    assert "attachments" in missing_file.context["form"].errors
    answered = client.post(
        url("brightpath", "vendor_receipt", receipt_id=receipt.pk),
        {
            "answer_kind": "export",
            "attachments": [SimpleUploadedFile("export.csv", b"id,level\nS-100,B\n", "text/csv")],
        },
    )
    assert answered.status_code == 302
    with tenant_context(s.district):
        task = VendorTask.objects.get(pk=task.pk)
    assert task.status == TaskStatus.ANSWERED
    district = sign_in(Client(), s.district_staff)
    tasks_page = district.get(url("lincoln-usd", "request_vendor_tasks", request_id=pr.pk))
    assert "export.csv" in tasks_page.content.decode()


def test_skipping_through_the_page_needs_a_reason() -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr)
    client = sign_in(Client(), s.district_staff)
    skip = url("lincoln-usd", "vendor_task_skip", task_id=task.pk)
    client.post(skip, {"reason": ""})
    with tenant_context(s.district):
        assert VendorTask.objects.get(pk=task.pk).status == TaskStatus.OPEN
    client.post(skip, {"reason": "Student never used it"})
    with tenant_context(s.district):
        assert VendorTask.objects.get(pk=task.pk).status == TaskStatus.SKIPPED
