"""Journey (issue #15's main acceptance): fulfilment from the district's real records.

A parent asks Lincoln USD (the public form) for their child's records and confirms their email;
a privacy officer uploads the district's OneRoster 1.2 CSV export (four schools, 300 students,
two named Maria Garcia), finds the child by name and birth date and confirms her, verifies the
parent, adds an evidence PDF, and forwards the request to BrightPath (an organization here) and
to QuizCraft (by email); BrightPath's staff answer with an export in their own portal, QuizCraft
through its emailed link; the officer prepares the package and fulfils; the parent downloads
the ZIP from their portal. The ZIP holds the SIS section (the confirmed Maria's records, not
the other Maria's), one section per vendor with its files, the evidence under evidence/, and
index.json lists every other file with a SHA-256 that matches its bytes.

Every page visited, in every browser, is checked with axe.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.permissions import Role
from accounts.tests.factories import member
from k12cloud.notifications.models import OutboundEmail
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.rules.models import OrganizationRuleSelection
from privacy_requests.status import Status
from privacy_requests.tests.factories import PDF_BYTES
from sources.tests.fixtures import oneroster_package
from tests.browser.helpers import ensure_reference_rules, link_in, signed_in_context
from vendors.models import TaskStatus, VendorTask
from vendors.tests.factories import scene

pytestmark = pytest.mark.browser

BRIGHTPATH_EXPORT = b"student_id,app,minutes_read\nS-EXPORT,BrightPath Reader,412\n"
QUIZCRAFT_EXPORT = b"student_id,quiz,score\nS-EXPORT,Fractions 1,9\n"
# the generated package's two Maria Garcias (sources.tests.fixtures, seed 15)
MARIAS_SCHOOL = "Roosevelt Middle School 2"
OTHER_MARIAS_SCHOOL = "Jefferson Elementary School 1"


def test_a_parents_access_request_answered_from_the_sis_evidence_and_two_vendors(
    live_server: Any,
    browser: Browser,
    page: Page,
    page_checked: Callable[[Page], Page],
    a11y_audit: Any,
    artifacts_dir: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.PRIVACY_INTAKE_RATE_LIMIT = 1000  # the browser is always 127.0.0.1
    ensure_reference_rules()
    s = scene()  # Lincoln USD, BrightPath (an organization here) and QuizCraft (by email)
    officer = member(s.district, Role.PRIVACY_OFFICER, full_name="Olga Officer")
    with tenant_context(s.district):
        OrganizationRuleSelection.objects.create(organization=s.district, rule_id="ccpa")
    package = oneroster_package(schools=4, students_per_school=75)
    assert package.twins is not None
    other, maria = package.twins  # same name, different schools and birth dates
    assert (other.given_name, other.family_name) == (maria.given_name, maria.family_name)
    assert other.birth_date != maria.birth_date
    brightpath_export = BRIGHTPATH_EXPORT.replace(b"S-EXPORT", maria.identifier.encode())
    quizcraft_export = QUIZCRAFT_EXPORT.replace(b"S-EXPORT", maria.identifier.encode())

    # --- 1. the parent asks, in the public form, and confirms their email ---
    page.goto("/privacy/lincoln-usd/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy request to Lincoln USD")
    page_checked(page)
    page.get_by_label("See my information", exact=False).check()
    page.get_by_label("I am a parent or guardian asking about my child").check()
    page.get_by_label("Your full name").fill("Elena Garcia")
    page.get_by_label("Your email address").fill(maria.guardian_email)
    page.get_by_label("Their full name").fill("Maria Garcia")
    page.get_by_label("Their date of birth").fill(maria.birth_date)
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    page_checked(page)
    with tenant_context(s.district):
        request = PrivacyRequest.objects.get(channel="web")
    assert request.request_type == "access"

    [confirmation] = mail.outbox
    page.goto(link_in(confirmation.body, "/privacy/lincoln-usd/confirm/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    page_checked(page)
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your email address is confirmed")
    page_checked(page)

    # --- 2. the officer uploads the SIS export, finds and confirms the child ---
    desk_context = signed_in_context(browser, live_server, officer)
    desk = desk_context.new_page()
    a11y_audit.watch(desk)
    try:
        desk.goto("/o/lincoln-usd/")
        page_checked(desk)
        desk.get_by_role("navigation", name="Lincoln USD").get_by_role(
            "link", name="SIS sources"
        ).click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("SIS sources")
        page_checked(desk)
        desk.get_by_label("Kind").select_option("oneroster_csv")
        desk.get_by_label("Name", exact=True).fill("PowerSIS")
        desk.get_by_role("button", name="Add the source").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("PowerSIS")
        page_checked(desk)
        export = tmp_path / "lincoln-oneroster.zip"
        export.write_bytes(package.content)
        desk.get_by_label("OneRoster CSV package (.zip)").set_input_files(str(export))
        desk.get_by_role("button", name="Import the package").click()
        imported = desk.get_by_role("table", name="Rows imported")
        expect(imported.get_by_role("row", name="demographics.csv")).to_contain_text("300")
        page_checked(desk)

        desk.goto(f"/o/lincoln-usd/requests/{request.pk}/")
        expect(desk.get_by_role("heading", level=1)).to_have_text(f"Request {request.reference}")
        page_checked(desk)
        desk.get_by_role("link", name="SIS records: find and confirm the student").click()
        page_checked(desk)
        desk.get_by_label("First name").fill("Maria")
        desk.get_by_label("Last name").fill("Garcia")
        desk.get_by_label("Birth date").fill(maria.birth_date)
        desk.get_by_role("button", name="Search", exact=True).click()
        candidates = desk.get_by_role("table", name="Candidates")
        expect(candidates.get_by_role("row")).to_have_count(2)  # the header and one Maria
        expect(candidates).to_contain_text(maria.birth_date)
        expect(candidates).not_to_contain_text(other.birth_date)
        expect(candidates).to_contain_text(MARIAS_SCHOOL)
        page_checked(desk)
        candidates.get_by_role("button", name="Confirm Maria Garcia").click()
        expect(desk.get_by_text("The student was confirmed for this request.")).to_be_visible()
        confirmed = desk.get_by_role("region", name="Confirmed student")
        expect(confirmed).to_contain_text("The requester is a guardian linked in the SIS")
        page_checked(desk)
        desk.screenshot(path=artifacts_dir / "records-journey-1-sis-confirmed.png", full_page=True)

        # --- 3. verify the parent, add an evidence PDF ---
        desk.goto(f"/o/lincoln-usd/requests/{request.pk}/")
        page_checked(desk)
        verify = desk.locator("#verify_form")
        verify.get_by_label("How was identity checked?").select_option("records_match")
        verify.get_by_label("What was checked").fill("Guardian email linked in the SIS.")
        verify.get_by_role("button", name="Record verification").click()
        expect(desk.get_by_text("Identity verified.", exact=True)).to_be_visible()
        page_checked(desk)
        desk.locator("#acknowledge_form").get_by_role("button", name="Acknowledge").click()
        expect(desk.get_by_text("Receipt acknowledged.")).to_be_visible()
        page_checked(desk)
        status = desk.locator("#transition_form")
        status.get_by_label("New status").select_option("in_progress")
        status.get_by_role("button", name="Change status").click()
        expect(desk.locator(".lede")).to_contain_text("In progress")
        page_checked(desk)

        desk.get_by_role("link", name="Open fulfilment").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text(
            f"Fulfil request {request.reference}"
        )
        page_checked(desk)
        scan = tmp_path / "attendance-letter.pdf"
        scan.write_bytes(PDF_BYTES)
        evidence = desk.locator("#evidence_form")
        evidence.get_by_label("File", exact=True).set_input_files(str(scan))
        evidence.get_by_label("Description (optional)").fill("Attendance letter, paper file")
        evidence.get_by_role("button", name="Add file").click()
        files = desk.get_by_role("table", name="1 file")
        expect(files).to_contain_text("attendance-letter.pdf")
        expect(files).to_contain_text("PDF")
        page_checked(desk)

        # --- 4. forward to BrightPath (on the portal) and QuizCraft (by email) ---
        desk.goto(f"/o/lincoln-usd/requests/{request.pk}/")
        page_checked(desk)
        desk.get_by_role("link", name="Forward to vendors and follow their answers").click()
        page_checked(desk)
        desk.get_by_label("BrightPath Learning").check()
        desk.get_by_label("QuizCraft").check()
        desk.get_by_label("Student's name").check()
        desk.get_by_label("Student ID", exact=True).check()
        desk.get_by_label("Student ID (if shared)").fill(maria.identifier)
        desk.get_by_label("Instructions to the vendor").fill("Everything you hold, please.")
        desk.get_by_role("button", name="Forward").click()
        expect(
            desk.get_by_role("heading", name=re.compile("BrightPath Learning · VT-"))
        ).to_be_visible()
        expect(desk.get_by_role("heading", name=re.compile("QuizCraft · VT-"))).to_be_visible()
        page_checked(desk)

        # --- 5a. BrightPath answers in its own portal ---
        vendor_context = signed_in_context(browser, live_server, s.vendor_staff)
        try:
            vendor_page = vendor_context.new_page()
            a11y_audit.watch(vendor_page)
            vendor_page.goto("/o/brightpath/vendors/inbox/")
            expect(vendor_page.get_by_text("Lincoln USD").first).to_be_visible()
            page_checked(vendor_page)
            vendor_page.get_by_role("link", name=re.compile("VR-")).click()
            expect(vendor_page.get_by_text(f"Student ID: {maria.identifier}")).to_be_visible()
            expect(vendor_page.get_by_text(maria.guardian_email)).to_have_count(0)
            page_checked(vendor_page)
            answer = tmp_path / "brightpath-export.csv"
            answer.write_bytes(brightpath_export)
            vendor_page.get_by_label("Your answer").select_option("export")
            vendor_page.get_by_label(re.compile("Files")).set_input_files(str(answer))
            vendor_page.get_by_role("button", name="Send the answer").click()
            expect(vendor_page.get_by_text("Your answer was sent to Lincoln USD.")).to_be_visible()
            page_checked(vendor_page)
        finally:
            vendor_context.close()

        # --- 5b. QuizCraft answers through the link it was emailed ---
        with tenant_context(s.district):
            body = OutboundEmail.objects.get(template="vendors/email/task_link").body_text
        off_context = browser.new_context(base_url=live_server.url, locale="en-US")
        try:
            off_page = off_context.new_page()
            a11y_audit.watch(off_page)
            off_page.goto(link_in(body, "/vendor-tasks/"))
            page_checked(off_page)
            off_page.get_by_role("button", name="Open the task").click()
            expect(off_page.get_by_text(f"Student ID: {maria.identifier}")).to_be_visible()
            page_checked(off_page)
            answer = tmp_path / "quizcraft-export.csv"
            answer.write_bytes(quizcraft_export)
            off_page.get_by_role("combobox", name="Your answer").select_option("export")
            off_page.get_by_label(re.compile("Files")).set_input_files(str(answer))
            off_page.get_by_label("Your name").fill("Dana Ortiz")
            off_page.get_by_label("Your email address").fill("dana@quizcraft.example")
            off_page.get_by_role("button", name="Send the answer").click()
            expect(off_page.get_by_role("heading", name="Answer sent")).to_be_visible()
            page_checked(off_page)
        finally:
            off_context.close()

        # --- 6. the officer sees both answers, prepares the package and fulfils ---
        desk.reload()
        expect(desk.get_by_text("brightpath-export.csv")).to_be_visible()
        expect(desk.get_by_text("quizcraft-export.csv")).to_be_visible()
        page_checked(desk)
        desk.screenshot(path=artifacts_dir / "records-journey-2-vendors.png", full_page=True)

        desk.goto(f"/o/lincoln-usd/requests/{request.pk}/")
        page_checked(desk)
        desk.get_by_role("button", name="Prepare package").click()
        expect(desk.get_by_text("Package prepared.", exact=False)).to_be_visible()
        contents = desk.get_by_role("table", name="Contents")
        for name in (
            "sis_student.csv",
            "sis_enrollments.csv",
            "vendor_1.csv",
            "vendor_2.csv",
            "evidence/attendance-letter.pdf",
            "brightpath-export.csv",
            "quizcraft-export.csv",
            "index.json",
        ):
            expect(contents).to_contain_text(name)
        page_checked(desk)
        desk.screenshot(path=artifacts_dir / "records-journey-3-package.png", full_page=True)

        mail.outbox.clear()
        desk.locator("#fulfil_form").get_by_role("button", name="Fulfil").click()
        expect(desk.get_by_text("Request fulfilled.", exact=False)).to_be_visible()
        expect(desk.locator(".lede")).to_contain_text("Fulfilled")
        page_checked(desk)
    finally:
        desk_context.close()

    # --- the parent opens the portal from the email and downloads the ZIP ---
    [ready] = [m for m in mail.outbox if maria.guardian_email in m.to]
    page.goto(link_in(ready.body, "/privacy/lincoln-usd/portal/"))
    page_checked(page)
    page.get_by_role("button", name="Open my request").click()
    expect(page.get_by_role("heading", name="Your information", exact=True)).to_be_visible()
    page_checked(page)
    page.screenshot(path=artifacts_dir / "records-journey-4-parent-portal.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download your data").click()
    download = download_info.value
    assert download.suggested_filename == f"privacy-request-{request.reference}.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    names = archive.namelist()

    # --- 7. what the ZIP holds ---
    data = json.loads(archive.read("data.json"))
    sections = data["sections"]

    # the SIS section: the confirmed Maria's records, never the other Maria's
    sis_json = json.dumps(
        {k: v for k, v in sections.items() if k.startswith("sis_")}, ensure_ascii=False
    )
    sis_csv = archive.read("sis_student.csv").decode("utf-8-sig")
    profile = {
        (row["record"], row["field"]): row["value"] for row in csv.DictReader(io.StringIO(sis_csv))
    }
    assert profile[("profile", "sourcedId")] == maria.sourced_id
    assert profile[("demographics", "birthDate")] == maria.birth_date
    for text in (sis_json, sis_csv):
        assert maria.sourced_id in text and maria.identifier in text
        assert other.sourced_id not in text and other.identifier not in text
        assert other.birth_date not in text
    enrollments = sections["sis_enrollments"]["rows"]
    assert enrollments and {row["school"] for row in enrollments} == {MARIAS_SCHOOL}
    enrollments_csv = archive.read("sis_enrollments.csv").decode("utf-8-sig")
    assert MARIAS_SCHOOL in enrollments_csv and OTHER_MARIAS_SCHOOL not in enrollments_csv
    assert {row["source"] for row in sections["sis_student"]["rows"]} == {"PowerSIS"}

    # one section per vendor, with its files in the ZIP, byte for byte
    with tenant_context(s.district):
        tasks = {t.vendor.name: t.reference for t in VendorTask.objects.select_related("vendor")}
        assert set(VendorTask.objects.values_list("status", flat=True)) == {TaskStatus.ANSWERED}
    vendor_sections = {
        section["title"]: section for key, section in sections.items() if key.startswith("vendor_")
    }
    assert set(vendor_sections) == {"From BrightPath Learning", "From QuizCraft"}
    for vendor, file_name, content in (
        ("BrightPath Learning", "brightpath-export.csv", brightpath_export),
        ("QuizCraft", "quizcraft-export.csv", quizcraft_export),
    ):
        [row] = vendor_sections[f"From {vendor}"]["rows"]
        path = f"vendors/{tasks[vendor]}/{file_name}"  # the file's place in the ZIP
        assert (row["task"], row["answer"], row["file"]) == (tasks[vendor], "export", path)
        assert row["sha256"] == hashlib.sha256(content).hexdigest()
        assert archive.read(path) == content
    for key in (k for k in sections if k.startswith("vendor_")):
        assert f"{key}.csv" in names

    # the readable summary has the same sections
    summary = archive.read("summary.html").decode()
    for title in ("Student information system: student record", *vendor_sections):
        assert title in summary, title

    # the evidence PDF, as it was uploaded
    assert archive.read("evidence/attendance-letter.pdf") == PDF_BYTES

    # index.json lists every other file, each with the SHA-256 of its bytes
    index = json.loads(archive.read("index.json"))
    listed = {entry["name"]: entry["sha256"] for entry in index["files"]}
    assert sorted(listed) == sorted(n for n in names if n != "index.json")
    for name, sha256 in listed.items():
        assert sha256 == hashlib.sha256(archive.read(name)).hexdigest(), name

    with tenant_context(s.district):
        assert PrivacyRequest.objects.get(pk=request.pk).status == Status.FULFILLED
