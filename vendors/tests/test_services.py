"""The vendor registry, forwarding, the cross-tenant hand-off, answers and closure gating."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime

import pytest
import time_machine

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory
from audit.actions import Action
from k12cloud.encryption.envelope import Sealed
from k12cloud.notifications.models import Notification, OutboundEmail
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.fulfilment.services import request_fulfil
from privacy_requests.services import RequestActionRefused, request_close
from vendors.models import TaskStatus, Vendor, VendorFile, VendorTask, VendorTaskReceipt
from vendors.selectors import (
    business_days_before,
    open_vendor_tasks_block_closure,
    vendor_certificates,
    vendor_package_sections,
)
from vendors.services import (
    IncomingFile,
    VendorActionRefused,
    VendorValues,
    receipt_answer,
    shared_identifiers,
    vendor_policy_set,
    vendor_save,
    vendor_task_skip,
)
from vendors.tests.factories import Scene, district_request, events, scene

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Los Angeles
NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
EXPORT = IncomingFile("maya-export.json", "application/json", b'{"reading_level": "B"}')
CERTIFICATE = IncomingFile("certificate.pdf", "application/pdf", b"%PDF-1.7 disposed")


# --- the registry -----------------------------------------------------------------------------


def test_vendor_defaults_follow_the_national_dpa_and_contacts_are_encrypted() -> None:
    s = scene()
    with tenant_context(s.district):
        vendor = Vendor.objects.get(pk=s.off_portal.pk)
        raw = Vendor.objects.filter(pk=vendor.pk).values_list("contact_emails", flat=True)[0]
    assert (vendor.disposal_days, s.on_portal.access_response_days) == (60, 45)
    assert isinstance(raw, Sealed)
    assert vendor.contact_email_list == ["dpo@quizcraft.example"]
    added = events(s.district, Action.VENDOR_ADDED)
    assert [e.changes["name"] for e in added] == ["BrightPath Learning", "QuizCraft"]
    assert "dpo@quizcraft.example" not in json.dumps([e.changes for e in added])


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (VendorValues(name="  "), "name"),
        (VendorValues(name="X", contact_emails=["not-an-address"]), "contact_emails"),
        (VendorValues(name="X", access_response_days=0), "access_response_days"),
        (VendorValues(name="X", disposal_days=400), "disposal_days"),
        (
            VendorValues(name="X", dpa_signed_on=date(2026, 1, 2), dpa_expires_on=date(2025, 1, 1)),
            "dpa_expires_on",
        ),
        (VendorValues(name="quizcraft"), "name"),  # already listed, whatever the case
    ],
)
def test_bad_vendor_values_are_refused_naming_the_field(values: VendorValues, field: str) -> None:
    s = scene()
    with tenant_context(s.district), pytest.raises(VendorActionRefused) as refused:
        vendor_save(organization=s.district, actor=s.district_admin, values=values)
    assert field in refused.value.message_dict


def test_the_vendor_organization_cannot_be_the_district_or_the_platform() -> None:
    s = scene()
    platform = OrganizationFactory(slug="k12cloud", kind=Organization.Kind.PLATFORM)
    for target in (s.district, platform):
        with tenant_context(s.district), pytest.raises(VendorActionRefused) as refused:
            vendor_save(
                organization=s.district,
                actor=s.district_admin,
                values=VendorValues(name="Y", portal_organization=target),
            )
        assert "portal_organization" in refused.value.message_dict


def test_editing_records_only_what_changed_and_an_unchanged_save_records_nothing() -> None:
    s = scene()
    values = VendorValues(
        name="QuizCraft", contact_emails=["dpo@quizcraft.example"], access_response_days=20
    )
    with tenant_context(s.district):
        vendor_save(organization=s.district, actor=None, values=values, vendor=s.off_portal)
        vendor_save(organization=s.district, actor=None, values=values, vendor=s.off_portal)
    changed = events(s.district, Action.VENDOR_CHANGED)
    assert [e.changes["changed"] for e in changed] == [["access_response_days"]]


# --- due dates --------------------------------------------------------------------------------


def test_business_days_before_skips_weekends_and_federal_holidays() -> None:
    from privacy_requests.deadlines.calendars import US_FEDERAL

    # Friday 29 May 2026, 5 business days before: Memorial Day (Mon 25) is skipped
    assert business_days_before(date(2026, 5, 29), 5, US_FEDERAL) == date(2026, 5, 21)


def test_due_date_is_the_vendor_terms_when_the_district_deadline_is_far() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 6, 30))
    with time_machine.travel(NOW, tick=False):
        [task] = s.forward(pr)
    assert task.due_on == task.terms_due_on == date(2026, 4, 16)  # 2 March + 45 days


def test_due_date_is_capped_five_business_days_before_the_district_deadline() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 4, 1))  # a Wednesday
    with time_machine.travel(NOW, tick=False):
        [task] = s.forward(pr)
    assert task.terms_due_on == date(2026, 4, 16)
    assert task.due_on == date(2026, 3, 25)  # Wednesday a business week before
    [forwarded] = events(s.district, Action.VENDOR_TASK_FORWARDED)
    assert forwarded.changes["capped"] is True


def test_the_margin_is_the_districts_and_an_extension_moves_the_cap() -> None:
    s = scene()
    with tenant_context(s.district):
        vendor_policy_set(organization=s.district, actor=s.district_admin, margin_business_days=2)
    pr = district_request(
        s.district, respond_by=date(2026, 3, 20), extended_respond_by=date(2026, 4, 1)
    )
    with time_machine.travel(NOW, tick=False):
        [task] = s.forward(pr)
    assert task.due_on == date(2026, 3, 30)  # 2 business days before the extended date
    assert len(events(s.district, Action.VENDOR_POLICY_CHANGED)) == 1


def test_a_request_forwarded_inside_the_margin_is_due_the_same_day() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 3, 4))
    with time_machine.travel(NOW, tick=False):
        [task] = s.forward(pr)
    assert task.due_on == date(2026, 3, 2)


def test_margin_outside_0_to_30_is_refused() -> None:
    s = scene()
    with tenant_context(s.district), pytest.raises(VendorActionRefused) as refused:
        vendor_policy_set(organization=s.district, actor=None, margin_business_days=31)
    assert "margin_business_days" in refused.value.message_dict


# --- what is shared ---------------------------------------------------------------------------


def test_only_the_chosen_identifiers_are_shared() -> None:
    s = scene()
    pr = district_request(s.district)
    with tenant_context(s.district):
        pr.refresh_from_db()
        shared = shared_identifiers(
            request=pr, chosen=["subject_name", "student_id"], student_id=" S-100 "
        )
    assert shared == {"subject_name": "Maya Lopez", "student_id": "S-100"}
    with pytest.raises(VendorActionRefused):
        shared_identifiers(request=pr, chosen=["details"])
    with pytest.raises(VendorActionRefused):
        shared_identifiers(request=pr, chosen=["student_id"], student_id="")


# --- the hand-off -----------------------------------------------------------------------------


def test_hand_off_writes_a_receipt_in_the_vendor_tenant_audited_on_both_chains() -> None:
    s = scene()
    pr = district_request(s.district, respond_by=date(2026, 6, 30))
    with time_machine.travel(NOW, tick=False):
        [task] = s.forward(pr)
    with tenant_context(s.vendor_org):
        receipt = VendorTaskReceipt.objects.get()
        assert VendorTask.objects.count() == 0  # the district's task is not visible here
    assert receipt.organization_id == s.vendor_org.pk
    assert receipt.from_organization_name == "Lincoln USD"
    assert receipt.from_task_reference == task.reference
    assert receipt.due_on == task.due_on
    assert dict(receipt.identifier_items) == {"Student's name": "Maya Lopez", "Student ID": "S-100"}
    assert receipt.instructions == "Send everything you hold about this student."
    with tenant_context(s.vendor_org):
        [notice] = Notification.objects.filter(kind="vendor_task_received")
    assert notice.recipient_id == s.vendor_staff.pk and "Lincoln USD" in notice.title
    assert "Maya" not in notice.title
    assert task.receipt_organization_id == s.vendor_org.pk
    assert task.receipt_reference == receipt.reference
    [out] = events(s.district, Action.VENDOR_TASK_FORWARDED)
    [received] = events(s.vendor_org, Action.VENDOR_TASK_RECEIVED)
    assert out.changes["to_organization"] == "brightpath"
    assert received.changes["from_task_reference"] == task.reference
    assert received.actor_user_id == s.district_staff.pk
    # nothing else of the request crossed the line
    everything = json.dumps([received.changes, receipt.identifiers, receipt.instructions])
    for private in ("parent@example.org", "reading app", "2014-05-02", "Lincoln Elementary"):
        assert private not in everything


def test_off_portal_vendor_gets_an_email_with_a_link_not_the_identifiers() -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr, vendors=[s.off_portal])
    with tenant_context(s.district):
        email = OutboundEmail.objects.get(template="vendors/email/task_link")
        task.refresh_from_db()
    assert email.to == "dpo@quizcraft.example"
    assert "/vendor-tasks/lincoln-usd/open/" in email.body_text
    assert "Maya" not in email.body_text and "Maya" not in email.subject
    assert task.delivery == "email" and task.link_token_hash
    assert len(events(s.district, Action.VENDOR_TASK_LINK_SENT)) == 1


def test_forwarding_twice_to_the_same_vendor_and_a_closed_request_are_refused() -> None:
    s = scene()
    pr = district_request(s.district)
    s.forward(pr)
    with pytest.raises(VendorActionRefused) as refused:
        s.forward(pr)
    assert "vendors" in refused.value.message_dict
    closed = district_request(s.district, status="denied", closed_at=NOW)
    with pytest.raises(VendorActionRefused) as refused:
        s.forward(closed)
    assert "request" in refused.value.message_dict


def test_a_vendor_whose_organization_left_the_portal_is_refused() -> None:
    s = scene()
    s.vendor_org.status = Organization.Status.TERMINATED
    s.vendor_org.terminated_at = datetime.now(tz=UTC)
    s.vendor_org.save()
    with pytest.raises(VendorActionRefused) as refused:
        s.forward(district_request(s.district))
    assert "vendors" in refused.value.message_dict


def test_a_failed_forward_leaves_nothing_behind_in_either_tenant() -> None:
    s = scene()
    with tenant_context(s.district):
        s.off_portal.contact_emails = ""
        s.off_portal.save()
    pr = district_request(s.district)
    with pytest.raises(VendorActionRefused):
        s.forward(pr, vendors=[s.on_portal, s.off_portal])
    with unscoped_all_tenants(reason="test: nothing was written anywhere"):
        assert VendorTask.objects.count() == VendorTaskReceipt.objects.count() == 0


# --- answers ----------------------------------------------------------------------------------


def _receipt(s: Scene) -> VendorTaskReceipt:
    with tenant_context(s.vendor_org):
        return VendorTaskReceipt.objects.get()


def test_the_vendor_answer_flows_back_with_files_sealed_under_each_owner_key() -> None:
    s = scene()
    pr = district_request(s.district)
    [task] = s.forward(pr)
    receipt = _receipt(s)
    with tenant_context(s.vendor_org):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=receipt,
            answer_kind="export",
            files=[EXPORT],
        )
        vendor_side = VendorFile.objects.get()
    with tenant_context(s.district):
        task.refresh_from_db()
        district_side = VendorFile.objects.get()
        sealed_content = VendorFile.objects.filter(pk=district_side.pk).values_list(
            "content", flat=True
        )[0]
    digest = hashlib.sha256(EXPORT.data).hexdigest()
    assert (vendor_side.organization_id, district_side.organization_id) == (
        s.vendor_org.pk,
        s.district.pk,
    )
    assert vendor_side.sha256 == district_side.sha256 == digest
    assert base64.b64decode(district_side.content) == EXPORT.data
    assert isinstance(sealed_content, Sealed)
    assert task.status == TaskStatus.ANSWERED and task.answer_kind == "export"
    assert task.responder_email == "privacy@brightpath.example"
    [answered] = events(s.vendor_org, Action.VENDOR_TASK_ANSWERED)
    [received] = events(s.district, Action.VENDOR_TASK_ANSWER_RECEIVED)
    assert (
        answered.changes["files"]
        == received.changes["files"]
        == [{"sha256": digest, "size": len(EXPORT.data)}]
    )


@pytest.mark.parametrize(
    ("answer_kind", "note", "files", "field"),
    [
        ("export", "", [], "files"),
        ("no_records", "", [], "note"),
        ("deletion_attested", "", [CERTIFICATE], "answer_kind"),  # not for an access task
        ("export", "", [IncomingFile("empty.csv", "text/csv", b"")], "files"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    answer_kind: str, note: str, files: list[IncomingFile], field: str
) -> None:
    s = scene()
    s.forward(district_request(s.district))
    with tenant_context(s.vendor_org), pytest.raises(VendorActionRefused) as refused:
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind=answer_kind,
            note=note,
            files=files,
        )
    assert field in refused.value.message_dict


def test_skipping_needs_a_reason_and_withdraws_the_vendor_receipt() -> None:
    s = scene()
    [task] = s.forward(district_request(s.district))
    with tenant_context(s.district), pytest.raises(VendorActionRefused):
        vendor_task_skip(organization=s.district, actor=s.district_staff, task=task, reason=" ")
    with tenant_context(s.district):
        vendor_task_skip(
            organization=s.district, actor=s.district_staff, task=task, reason="Not used since 2024"
        )
        task.refresh_from_db()
    assert task.status == TaskStatus.SKIPPED and task.skip_reason == "Not used since 2024"
    assert _receipt(s).status == TaskStatus.SKIPPED
    assert len(events(s.district, Action.VENDOR_TASK_SKIPPED)) == 1
    assert len(events(s.vendor_org, Action.VENDOR_TASK_SKIPPED)) == 1
    with tenant_context(s.vendor_org), pytest.raises(VendorActionRefused):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind="no_records",
            note="none",
        )


# --- closing a deletion request ---------------------------------------------------------------


def test_a_deletion_request_cannot_close_as_fulfilled_while_vendor_tasks_are_open() -> None:
    s = scene()
    pr = district_request(s.district, request_type="delete")
    tasks = s.forward(pr, vendors=[s.on_portal, s.off_portal], kind="deletion_certificate")
    with tenant_context(s.district):
        assert (
            len(open_vendor_tasks_block_closure(organization=s.district, privacy_request=pr)) == 2
        )
        with pytest.raises(RequestActionRefused) as refused:
            request_close(request=pr, actor=s.district_staff, outcome="fulfilled", reason="")
        assert "open_vendor_tasks_reason" in refused.value.message_dict
        # denial is not held up: nothing is claimed about the vendors' data
        pr.refresh_from_db()
        assert pr.closed_at is None
    # BrightPath attests deletion with a certificate; QuizCraft is skipped with a reason
    with tenant_context(s.vendor_org):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind="deletion_attested",
            files=[CERTIFICATE],
        )
    with tenant_context(s.district):
        vendor_task_skip(
            organization=s.district,
            actor=s.district_staff,
            task=tasks[1],
            reason="Contract ended; data returned in 2025",
        )
        request_close(request=pr, actor=s.district_staff, outcome="fulfilled", reason="")
        certificates = vendor_certificates(organization=s.district, privacy_request=pr)
    assert [(c["vendor"], c["status"]) for c in certificates] == [
        ("BrightPath Learning", "answered"),
        ("QuizCraft", "skipped"),
    ]
    assert certificates[0]["certificates"] == [hashlib.sha256(CERTIFICATE.data).hexdigest()]
    assert certificates[1]["skip_reason"] == "Contract ended; data returned in 2025"
    assert events(s.district, Action.REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS) == []


def test_closing_with_open_tasks_records_why_and_keeps_them_open() -> None:
    s = scene()
    pr = district_request(s.district, request_type="delete")
    [task] = s.forward(pr, kind="deletion_certificate")
    with tenant_context(s.district):
        request_close(
            request=pr,
            actor=s.district_staff,
            outcome="fulfilled",
            reason="",
            open_vendor_tasks_reason="Vendor unreachable; regulator informed",
        )
        task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.closed_open_reason == "Vendor unreachable; regulator informed"
    [closed] = events(s.district, Action.REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS)
    assert closed.changes == {"open_tasks": [task.reference]}


def test_the_fulfil_service_path_is_guarded_too() -> None:
    s = scene()
    pr = district_request(s.district, request_type="delete")
    s.forward(pr, kind="deletion_certificate")
    with tenant_context(s.district), pytest.raises(RequestActionRefused) as refused:
        # the vendor guard or the deletion check: either way it does not close
        request_fulfil(organization=s.district, actor=s.district_staff, request=pr)
    assert refused.value.code in ("deletion_not_performed", "open_vendor_tasks")


def test_an_access_request_is_not_held_by_open_vendor_tasks() -> None:
    s = scene()
    pr = district_request(s.district)
    s.forward(pr)
    with tenant_context(s.district):
        assert open_vendor_tasks_block_closure(organization=s.district, privacy_request=pr) == []


def test_package_sections_hold_each_vendor_answer_and_files_with_sha256() -> None:
    s = scene()
    pr = district_request(s.district)
    s.forward(pr, vendors=[s.on_portal, s.off_portal])
    with tenant_context(s.vendor_org):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind="export",
            files=[EXPORT],
        )
    with tenant_context(s.district):
        sections = vendor_package_sections(organization=s.district, privacy_request=pr)
    assert [(x.vendor_name, x.status) for x in sections] == [
        ("BrightPath Learning", "answered"),
        ("QuizCraft", "open"),
    ]
    [file] = sections[0].files
    assert (file.name, file.data, file.sha256) == (
        "maya-export.json",
        EXPORT.data,
        hashlib.sha256(EXPORT.data).hexdigest(),
    )
    assert sections[0].metadata()["files"][0]["sha256"] == file.sha256  # type: ignore[index]


def test_the_fulfilment_package_has_one_section_per_vendor_and_their_files() -> None:
    import io
    import zipfile

    from privacy_requests.fulfilment.services import package_prepare

    s = scene()
    pr = district_request(s.district, requester_name="Pat Parent")
    s.forward(pr, vendors=[s.on_portal, s.off_portal])
    with tenant_context(s.vendor_org):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind="export",
            files=[EXPORT],
        )
    with tenant_context(s.district):
        package = package_prepare(organization=s.district, actor=s.district_staff, request=pr)
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(package.content)))
        first = vendor_package_sections(organization=s.district, privacy_request=pr)[0]
    digest = hashlib.sha256(EXPORT.data).hexdigest()
    path = f"vendors/{first.task_reference}/maya-export.json"
    assert archive.read(path) == EXPORT.data
    data = json.loads(archive.read("data.json"))
    assert data["sections"]["vendor_1"]["title"] == "From BrightPath Learning"
    assert data["sections"]["vendor_1"]["rows"][0]["sha256"] == digest
    assert data["sections"]["vendor_2"]["rows"][0]["status"] == "open"
    listed = {entry["name"]: entry for entry in package.contents}
    assert listed[path]["sha256"] == digest
    assert "From QuizCraft" in archive.read("summary.html").decode()


def test_a_fulfilled_deletion_closure_lists_each_vendor_and_its_certificate() -> None:
    from privacy_requests.fulfilment.services import deletion_perform
    from privacy_requests.models import PrivacyRequest

    s = scene()
    pr = district_request(s.district, request_type="delete", requester_name="Pat Parent")
    tasks = s.forward(pr, vendors=[s.on_portal, s.off_portal], kind="deletion_certificate")
    with tenant_context(s.vendor_org):
        receipt_answer(
            organization=s.vendor_org,
            actor=s.vendor_staff,
            receipt=_receipt(s),
            answer_kind="deletion_attested",
            files=[CERTIFICATE],
        )
    with tenant_context(s.district):
        vendor_task_skip(
            organization=s.district, actor=None, task=tasks[1], reason="Internal: never used"
        )
        deletion_perform(organization=s.district, actor=s.district_admin, request=pr)
        request_fulfil(organization=s.district, actor=s.district_admin, request=pr)
        closure = PrivacyRequest.objects.get(pk=pr.pk).closure_reason
    digest = hashlib.sha256(CERTIFICATE.data).hexdigest()
    assert f"- BrightPath Learning: deletion attested; certificate SHA-256 {digest}" in closure
    assert "- QuizCraft: not asked to act" in closure
    assert "Internal: never used" not in closure
