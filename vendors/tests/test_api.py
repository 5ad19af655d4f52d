"""The vendors API: the registry, forwarding, the vendor's inbox and answer, the schema."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import sign_in
from k12cloud.tenancy import tenant_context
from vendors.models import TaskStatus, VendorTask, VendorTaskReceipt
from vendors.tests.factories import district_request, scene

pytestmark = pytest.mark.django_db


def api(org_slug: str, name: str, **kwargs: object) -> str:
    return reverse(f"accounts_api:{name}", kwargs={"org_slug": org_slug, **kwargs})


def test_the_registry_over_the_api_with_errors_naming_the_field() -> None:
    s = scene()
    client = sign_in(Client(), s.district_admin)
    listed = client.get(api("lincoln-usd", "vendor_list")).json()
    assert [(v["name"], v["portal_organization"]) for v in listed] == [
        ("BrightPath Learning", "brightpath"),
        ("QuizCraft", None),
    ]
    assert listed[1]["contact_emails"] == ["dpo@quizcraft.example"]
    bad = client.post(
        api("lincoln-usd", "vendor_list"),
        {"name": "Reader+", "disposal_days": 0, "contact_emails": ["nope"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and {"disposal_days", "contact_emails"} <= set(bad.json())
    unknown = client.post(
        api("lincoln-usd", "vendor_list"),
        {"name": "Reader+", "portal_organization": "no-such-org"},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and "portal_organization" in unknown.json()
    created = client.post(
        api("lincoln-usd", "vendor_list"),
        {"name": "Reader+", "access_response_days": 20, "contact_emails": ["a@r.example"]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["access_response_days"] == 20
    changed = client.patch(
        api("lincoln-usd", "vendor_detail", vendor_id=created.json()["id"]),
        {"disposal_days": 30},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert (changed.json()["disposal_days"], changed.json()["access_response_days"]) == (30, 20)
    duplicate = client.patch(
        api("lincoln-usd", "vendor_detail", vendor_id=created.json()["id"]),
        {"name": "quizcraft"},
        content_type="application/json",
    )
    assert duplicate.status_code == 400 and "name" in duplicate.json()


def test_forward_answer_and_follow_a_task_over_the_api() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2030, 6, 28))
    district = sign_in(Client(), s.district_staff)
    forwarded = district.post(
        api("lincoln-usd", "vendor_task_list"),
        {
            "request": pr.pk,
            "vendors": [s.on_portal.pk],
            "kind": "access_export",
            "identifiers": ["subject_name"],
        },
        content_type="application/json",
    )
    assert forwarded.status_code == 201, forwarded.content
    [task] = forwarded.json()
    assert task["identifiers"] == [{"label": "Student's name", "value": "Maya Lopez"}]
    bad = district.post(
        api("lincoln-usd", "vendor_task_list"),
        {"request": pr.pk, "vendors": [s.on_portal.pk], "kind": "x", "identifiers": ["details"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and {"kind", "identifiers"} <= set(bad.json())
    vendor = sign_in(Client(), s.vendor_staff)
    [receipt] = vendor.get(api("brightpath", "vendor_inbox")).json()
    assert receipt["from_organization"] == "Lincoln USD"
    assert receipt["identifiers"] == task["identifiers"]
    answer = api("brightpath", "vendor_receipt_answer", receipt_id=receipt["id"])
    no_file = vendor.post(answer, {"answer_kind": "export"})
    assert no_file.status_code == 400 and "files" in no_file.json()
    answered = vendor.post(
        answer,
        {"answer_kind": "export", "files": [SimpleUploadedFile("e.csv", b"a,b\n", "text/csv")]},
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    again = vendor.post(answer, {"answer_kind": "no_records", "note": "x"})
    assert again.status_code == 409 and again.json()["code"] == "status"
    followed = district.get(api("lincoln-usd", "vendor_task_list") + f"?request={pr.pk}").json()
    assert followed[0]["status"] == TaskStatus.ANSWERED
    assert followed[0]["files"][0]["name"] == "e.csv"
    skip = district.post(
        api("lincoln-usd", "vendor_task_skip", task_id=task["id"]),
        {"reason": "late"},
        content_type="application/json",
    )
    assert skip.status_code == 409


def test_the_vendor_api_never_reaches_the_district_rows() -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr)
    vendor = sign_in(Client(), s.vendor_staff)
    assert vendor.get(api("brightpath", "vendor_task_detail", task_id=task.pk)).status_code == 404
    listed = vendor.get(api("brightpath", "vendor_task_list") + f"?request={pr.pk}")
    assert listed.status_code == 404
    with tenant_context(s.vendor_org):
        receipt = VendorTaskReceipt.objects.get()
    district = sign_in(Client(), s.district_admin)
    assert (
        district.get(api("lincoln-usd", "vendor_receipt", receipt_id=receipt.pk)).status_code == 404
    )
    with tenant_context(s.district):
        assert VendorTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_the_schema_describes_the_vendor_endpoints() -> None:
    s = scene()
    response = sign_in(Client(), s.district_admin).get(reverse("api_schema") + "?format=json")
    paths = json.loads(response.content)["paths"]
    base = "/api/v1/orgs/{org_slug}/vendors/"
    assert {"get", "post"} <= set(paths[base])
    assert {"get", "patch"} <= set(paths[base + "{vendor_id}/"])
    assert "requestBody" in paths[base + "tasks/"]["post"]
    assert "409" in paths[base + "tasks/{task_id}/skip/"]["post"]["responses"]
    answer = paths[base + "inbox/{receipt_id}/answer/"]["post"]
    assert "multipart/form-data" in answer["requestBody"]["content"]
