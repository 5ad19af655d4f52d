"""Reads of the vendor registry and vendor tasks, shared by pages, the API and other apps.

Every selector takes the organization it reads for (the tenant context must be that
organization's). For the fulfilment package and the closure: `vendor_package_sections` and
`vendor_certificates`; for the request-closing guard: `open_vendor_tasks_block_closure`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from privacy_requests.deadlines.calendars import CalendarSpec, is_business_day
from privacy_requests.fulfilment.selectors import DELETION_TYPES
from privacy_requests.rules.selectors import organization_calendar
from vendors.models import (
    DEFAULT_MARGIN_BUSINESS_DAYS,
    AnswerKind,
    TaskKind,
    TaskStatus,
    Vendor,
    VendorFile,
    VendorPolicy,
    VendorTask,
    VendorTaskReceipt,
)

if TYPE_CHECKING:
    from accounts.models import Organization
    from privacy_requests.models import PrivacyRequest


# --- the registry -----------------------------------------------------------------------------


def vendor_list(*, organization: Organization) -> QuerySet[Vendor]:
    return (
        Vendor.objects.for_organization(organization)
        .select_related("portal_organization")
        .order_by("name", "pk")
    )


def vendor_get(*, organization: Organization, vendor_id: int) -> Vendor:
    """Raises Vendor.DoesNotExist for an unknown id or another organization's vendor."""
    return vendor_list(organization=organization).get(pk=vendor_id)


def vendor_policy(*, organization: Organization) -> VendorPolicy:
    """The organization's forwarding settings; an unsaved default row when it has none."""
    policy = VendorPolicy.objects.for_organization(organization).first()
    return policy or VendorPolicy(
        organization=organization, margin_business_days=DEFAULT_MARGIN_BUSINESS_DAYS
    )


# --- due dates --------------------------------------------------------------------------------


def business_days_before(day: date, n: int, calendar: CalendarSpec) -> date:
    """The business day `n` business days before `day` (the deadline engine's calendar)."""
    current = day
    while n > 0:
        current -= timedelta(days=1)
        if is_business_day(current, calendar):
            n -= 1
    return current


@dataclass(frozen=True)
class TaskDueDate:
    due_on: date
    terms_due_on: date  # from the vendor's terms alone
    cap: date | None  # the district's deadline less its margin, when the request has one
    capped: bool  # the cap moved the date earlier than the terms give


def local_day(organization: Organization, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(organization.time_zone or "UTC")).date()


def task_due_date(
    *,
    organization: Organization,
    request: PrivacyRequest,
    vendor: Vendor,
    kind: str,
    forwarded_at: datetime,
    margin_business_days: int,
) -> TaskDueDate:
    """The vendor's due date: the forwarding day plus the vendor's terms (calendar days:
    `disposal_days` for a deletion, `access_response_days` otherwise), capped to fall
    `margin_business_days` business days before the district's own response deadline (the
    extended one when the request was extended). Never before the forwarding day itself: a
    request forwarded inside the margin is due at once, and the page says the date is capped.
    """
    forwarded_on = local_day(organization, forwarded_at)
    days = (
        vendor.disposal_days
        if kind == TaskKind.DELETION_CERTIFICATE
        else vendor.access_response_days
    )
    terms = forwarded_on + timedelta(days=days)
    district_due = request.extended_respond_by or request.respond_by
    if district_due is None:
        return TaskDueDate(terms, terms, None, False)
    cap = business_days_before(
        district_due, margin_business_days, organization_calendar(organization)
    )
    due = max(min(terms, cap), forwarded_on)
    return TaskDueDate(due, terms, cap, due < terms)


# --- tasks of a request (the district) --------------------------------------------------------


def request_vendor_tasks(
    *, organization: Organization, privacy_request: PrivacyRequest
) -> list[VendorTask]:
    """The request's vendor tasks with their vendors, oldest first (one query).

    `privacy_request` may be the request page's redacted view (privacy_requests.visibility),
    which is not a model instance: filter by its primary key."""
    return list(
        VendorTask.objects.for_organization(organization)
        .filter(request_id=privacy_request.pk)
        .select_related("vendor")
        .order_by("forwarded_at", "pk")
    )


def vendor_task_get(*, organization: Organization, task_id: int) -> VendorTask:
    return (
        VendorTask.objects.for_organization(organization)
        .select_related("vendor", "request")
        .get(pk=task_id)
    )


def open_vendor_tasks_block_closure(
    *, organization: Organization, privacy_request: PrivacyRequest
) -> list[VendorTask]:
    """The open vendor tasks that stop a deletion request closing as fulfilled without a
    recorded reason; empty for other request types or when every task is answered/skipped."""
    if privacy_request.request_type not in DELETION_TYPES:
        return []
    return list(
        VendorTask.objects.for_organization(organization)
        .filter(request=privacy_request, status=TaskStatus.OPEN)
        .select_related("vendor")
        .order_by("pk")
    )


def files_by_task(
    *, organization: Organization, tasks: list[VendorTask]
) -> dict[int, list[VendorFile]]:
    """Each task's files (metadata only: the sealed content is deferred), in one query."""
    grouped: dict[int, list[VendorFile]] = {task.pk: [] for task in tasks}
    rows = (
        VendorFile.objects.for_organization(organization)
        .filter(task__in=[task.pk for task in tasks])
        .defer("content")
        .order_by("uploaded_at", "pk")
    )
    for row in rows:
        assert row.task_id is not None
        grouped[row.task_id].append(row)
    return grouped


@dataclass(frozen=True)
class VendorFileContent:
    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes


@dataclass(frozen=True)
class VendorPackageSection:
    """One vendor's part of a fulfilment package (or of a deletion closure)."""

    vendor_name: str
    task_reference: str
    kind: str
    status: str
    answer_kind: str
    answered_at: datetime | None
    responder_name: str
    responder_email: str
    note: str
    skip_reason: str
    files: list[VendorFileContent] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        """JSON-ready description, files by name, size and SHA-256 (for the package index)."""
        return {
            "vendor": self.vendor_name,
            "task": self.task_reference,
            "kind": self.kind,
            "status": self.status,
            "answer": self.answer_kind,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "responder_name": self.responder_name,
            "responder_email": self.responder_email,
            "note": self.note,
            "skip_reason": self.skip_reason,
            "files": [
                {"name": f.name, "content_type": f.content_type, "size": f.size, "sha256": f.sha256}
                for f in self.files
            ],
        }


def vendor_package_sections(
    *, organization: Organization, privacy_request: PrivacyRequest, with_content: bool = True
) -> list[VendorPackageSection]:
    """One section per vendor task of the request: what was asked, the answer (or the reason it
    was skipped) and the vendor's files with their SHA-256 (bytes decrypted when
    `with_content`). For the package builder; two queries whatever the number of tasks."""
    tasks = request_vendor_tasks(organization=organization, privacy_request=privacy_request)
    files = (
        VendorFile.objects.for_organization(organization)
        .filter(task__in=[task.pk for task in tasks])
        .order_by("uploaded_at", "pk")
    )
    if not with_content:
        files = files.defer("content")
    by_task: dict[int, list[VendorFileContent]] = {task.pk: [] for task in tasks}
    for row in files:
        assert row.task_id is not None
        data = base64.b64decode(row.content) if with_content else b""
        by_task[row.task_id].append(
            VendorFileContent(row.name, row.content_type, row.size, row.sha256, data)
        )
    return [
        VendorPackageSection(
            vendor_name=task.vendor.name,
            task_reference=task.reference,
            kind=task.kind,
            status=task.status,
            answer_kind=task.answer_kind,
            answered_at=task.answered_at,
            responder_name=task.responder_name,
            responder_email=task.responder_email,
            note=task.answer_note,
            skip_reason=task.skip_reason,
            files=by_task[task.pk],
        )
        for task in tasks
    ]


def package_file_path(section: VendorPackageSection, file: VendorFileContent) -> str:
    """Where a vendor's file sits in the package ZIP: vendors/<task reference>/<name>."""
    name = "".join(c if c.isalnum() or c in "._- " else "_" for c in file.name).strip() or "file"
    return f"vendors/{section.task_reference}/{name[:120]}"


def vendor_package_rows(section: VendorPackageSection) -> list[dict[str, object]]:
    """One row per file of the vendor's answer (one row when it sent none), for the package."""
    common = {
        "task": section.task_reference,
        "status": section.status,
        "answer": section.answer_kind,
        "answered_at": section.answered_at,
        "responder": section.responder_name,
        "note": section.note or section.skip_reason,
    }
    if not section.files:
        return [{**common, "file": "", "sha256": "", "size": ""}]
    return [
        {**common, "file": package_file_path(section, f), "sha256": f.sha256, "size": f.size}
        for f in section.files
    ]


def vendor_certificates(
    *, organization: Organization, privacy_request: PrivacyRequest
) -> list[dict[str, object]]:
    """For a deletion closure (and the de-identification certificate): each vendor task's
    outcome: the certificate files' SHA-256 when deletion was attested, "no records" with the
    reason, or the reason it was skipped or left open."""
    sections = vendor_package_sections(
        organization=organization, privacy_request=privacy_request, with_content=False
    )
    listed: list[dict[str, object]] = []
    for section in sections:
        entry = section.metadata()
        entry["certificates"] = (
            [
                f["sha256"]
                for f in entry["files"]  # type: ignore[attr-defined]
            ]
            if section.answer_kind == AnswerKind.DELETION_ATTESTED
            else []
        )
        listed.append(entry)
    return listed


def organization_vendor_certificates(*, organization: Organization) -> list[dict[str, object]]:
    """Every certificate of disposition the organization's vendors sent for its deletion
    requests, for its de-identification certificate (retention.certificates): vendor name,
    task and request references, date and the files' SHA-256. No personal data, and only
    columns de-identification keeps, so it reads the same before and after a retention run.
    Two queries."""
    tasks = list(
        VendorTask.objects.for_organization(organization)
        .filter(answer_kind=AnswerKind.DELETION_ATTESTED)
        .select_related("vendor", "request")
        .only("reference", "answered_at", "vendor__name", "request__reference", "organization_id")
        .order_by("answered_at", "pk")
    )
    digests: dict[int, list[str]] = {task.pk: [] for task in tasks}
    rows = (
        VendorFile.objects.for_organization(organization)
        .filter(task__in=list(digests), purpose=VendorFile.Purpose.CERTIFICATE)
        .order_by("pk")
        .values_list("task_id", "sha256")
    )
    for task_id, sha256 in rows:
        digests[task_id].append(sha256)
    return [
        {
            "vendor": task.vendor.name,
            "task": task.reference,
            "request": task.request.reference,
            "attested_on": task.answered_at.date().isoformat() if task.answered_at else None,
            "certificate_sha256": digests[task.pk],
        }
        for task in tasks
    ]


def vendor_closure_text(
    *, organization: Organization, privacy_request: PrivacyRequest, language: str
) -> str:
    """For a deletion request's closure message: each vendor's outcome, with the SHA-256 of
    its certificate of disposition; empty when the request was forwarded to no vendor."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    entries = vendor_certificates(organization=organization, privacy_request=privacy_request)
    if not entries:
        return ""
    with translation.override(language or None):
        lines = [_("Our vendors:")]
        for entry in entries:
            if entry["certificates"]:
                outcome = _("deletion attested; certificate SHA-256 %(sha)s") % {
                    "sha": ", ".join(str(c) for c in entry["certificates"])  # type: ignore[attr-defined]
                }
            elif entry["answer"] == AnswerKind.NO_RECORDS:
                outcome = _("held no records")
            elif entry["status"] == TaskStatus.SKIPPED:
                # the skip reason is the district's internal note: not told to the requester
                outcome = _("not asked to act (the district recorded why)")
            else:
                outcome = _("no answer yet")
            lines.append(f"- {entry['vendor']}: {outcome}")
    return "\n".join(lines)


# --- the vendor's queue (tasks other organizations forwarded here) ----------------------------


def receipt_list(
    *, organization: Organization, open_only: bool = False
) -> QuerySet[VendorTaskReceipt]:
    rows = VendorTaskReceipt.objects.for_organization(organization)
    if open_only:
        rows = rows.filter(status=TaskStatus.OPEN)
    return rows.order_by("status", "due_on", "pk")


def receipt_get(*, organization: Organization, receipt_id: int) -> VendorTaskReceipt:
    return VendorTaskReceipt.objects.for_organization(organization).get(pk=receipt_id)


def receipt_files(*, organization: Organization, receipt: VendorTaskReceipt) -> list[VendorFile]:
    return list(
        VendorFile.objects.for_organization(organization)
        .filter(receipt=receipt)
        .defer("content")
        .order_by("uploaded_at", "pk")
    )


def today_for(organization: Organization) -> date:
    return local_day(organization, timezone.now())
