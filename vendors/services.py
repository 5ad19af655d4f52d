"""Writes of the vendor registry and of forwarding requests to vendors (docs/vendors.md).

Every service runs in one transaction and writes its audit event in it, on the chain of the
organization where the step happened. The cross-tenant steps follow
`privacy_requests.routing.request_route`: the district's writes run in the district's tenant
context, the vendor's in a nested `tenant_context(vendor)`, RLS on throughout, and the
hand-off is audited on both chains:

- `vendor_tasks_forward`: district → vendor. For a vendor that is an organization here, a
  `VendorTaskReceipt` is written in the vendor's tenant holding only the shared identifiers,
  the instructions, the district's name, the kind and the due date (VENDOR_TASK_FORWARDED on the
  district, VENDOR_TASK_RECEIVED on the vendor). Other vendors are emailed a single-use link.
- `receipt_answer`: vendor → district. The vendor's answer and files are stored in the vendor's
  tenant (VENDOR_TASK_ANSWERED on the vendor), then copied to the district's task, the files
  re-sealed under the district's key (VENDOR_TASK_ANSWER_RECEIVED on the district).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from accounts.permissions import Role
from audit.actions import Action
from audit.context import acting_as, actor_for_user
from audit.services import record
from k12cloud.notifications.services import email_enqueue, notify
from k12cloud.tenancy import tenant_context
from privacy_requests.models import PrivacyRequest
from privacy_requests.services import RequestActionRefused
from vendors.models import (
    ANSWERS_FOR_KIND,
    ANSWERS_WITH_FILE,
    SHAREABLE_IDENTIFIERS,
    AnswerKind,
    Delivery,
    TaskKind,
    TaskStatus,
    Vendor,
    VendorFile,
    VendorPolicy,
    VendorTask,
    VendorTaskReceipt,
)
from vendors.selectors import open_vendor_tasks_block_closure, task_due_date, vendor_policy

if TYPE_CHECKING:
    from accounts.models import User

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 5
MAX_TERM_DAYS = 365
MAX_MARGIN_BUSINESS_DAYS = 30
LINK_VALID_FOR = timedelta(days=14)
CODE_VALID_FOR = timedelta(minutes=30)


class VendorActionRefused(RequestActionRefused):
    """A refused vendor action; keyed by the field it concerns (forms and the API name it).

    A RequestActionRefused, so the request pages' and the API's handlers show it when the
    closing guard refuses inside `request_close`."""


def _refuse(message: str, code: str) -> VendorActionRefused:
    return VendorActionRefused({code: [message]}, code=code)


def _named(actor: User | None) -> AbstractContextManager[object]:
    return acting_as(actor_for_user(actor.pk)) if actor is not None else nullcontext()


def _new_reference(prefix: str) -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


def _save_with_reference(row: VendorTask | VendorTaskReceipt, prefix: str) -> None:
    for attempt in range(5):
        row.reference = _new_reference(prefix)
        try:
            with transaction.atomic():
                row.save()
            return
        except IntegrityError:
            if attempt == 4:
                raise
            row.pk = None


# --- the registry -----------------------------------------------------------------------------


@dataclass
class VendorValues:
    name: str
    services: str = ""
    data_categories: Sequence[str] = ()
    contact_emails: Sequence[str] = ()
    dpa_signed_on: date | None = None
    dpa_expires_on: date | None = None
    access_response_days: int = 45
    disposal_days: int = 60
    portal_organization: Organization | None = None
    is_active: bool = True


def _validate_vendor(organization: Organization, values: VendorValues) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = values.name.strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the vendor's name."))
    emails = [e.strip().lower() for e in values.contact_emails if e.strip()]
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("contact_emails", []).append(
                _("“%(email)s” is not an email address.") % {"email": email}
            )
    for field in ("access_response_days", "disposal_days"):
        days = getattr(values, field)
        if not 1 <= days <= MAX_TERM_DAYS:
            errors.setdefault(field, []).append(
                _("Give a number of days from 1 to %(max)d.") % {"max": MAX_TERM_DAYS}
            )
    if (
        values.dpa_signed_on
        and values.dpa_expires_on
        and values.dpa_expires_on < values.dpa_signed_on
    ):
        errors.setdefault("dpa_expires_on", []).append(
            _("The agreement cannot expire before it was signed.")
        )
    target = values.portal_organization
    if target is not None and (
        target.pk == organization.pk
        or target.kind == Organization.Kind.PLATFORM
        or not target.is_active
    ):
        errors.setdefault("portal_organization", []).append(
            _("Choose another active organization on k-12.cloud, or none.")
        )
    if errors:
        raise VendorActionRefused(errors)
    return {
        "name": name,
        "services": values.services.strip(),
        "data_categories": sorted({c.strip() for c in values.data_categories if c.strip()}),
        "contact_emails": "\n".join(dict.fromkeys(emails)),
        "dpa_signed_on": values.dpa_signed_on,
        "dpa_expires_on": values.dpa_expires_on,
        "access_response_days": values.access_response_days,
        "disposal_days": values.disposal_days,
        "portal_organization": target,
        "is_active": values.is_active,
    }


def vendor_save(
    *,
    organization: Organization,
    actor: User | None,
    values: VendorValues,
    vendor: Vendor | None = None,
) -> Vendor:
    """Add a vendor (`vendor` None) or change one. Refused (VendorActionRefused, keyed by
    field) for a blank or duplicate name, a bad address, terms outside 1-365 days, an expiry
    before the signature, or the organization itself / the platform as the vendor's
    organization. Audited without the contact addresses (VENDOR_ADDED / VENDOR_CHANGED)."""
    clean = _validate_vendor(organization, values)
    with transaction.atomic():
        duplicate = Vendor.objects.for_organization(organization).filter(name__iexact=clean["name"])
        if vendor is not None:
            duplicate = duplicate.exclude(pk=vendor.pk)
        if duplicate.exists():
            raise _refuse(_("A vendor of this name is already listed."), "name")
        if vendor is None:
            vendor = Vendor(organization=organization)
            changed = list(clean)
        else:
            vendor = (
                Vendor.objects.for_organization(organization).select_for_update().get(pk=vendor.pk)
            )
            changed = [k for k, v in clean.items() if getattr(vendor, k) != v]
        adding = vendor.pk is None
        for key, value in clean.items():
            setattr(vendor, key, value)
        vendor.save()
        changes: dict[str, Any] = {
            "name": vendor.name,
            "changed": sorted(changed),
            "access_response_days": vendor.access_response_days,
            "disposal_days": vendor.disposal_days,
            "dpa_expires_on": vendor.dpa_expires_on.isoformat() if vendor.dpa_expires_on else None,
            "portal_organization": vendor.portal_organization.slug
            if vendor.portal_organization
            else None,
        }
        if adding or changed:
            record(
                Action.VENDOR_ADDED if adding else Action.VENDOR_CHANGED,
                organization=organization,
                target=vendor,
                changes=changes,
            )
    return vendor


def vendor_policy_set(
    *, organization: Organization, actor: User | None, margin_business_days: int
) -> VendorPolicy:
    """Set the margin (business days) a vendor's due date keeps before the district's own
    deadline. Audited (VENDOR_POLICY_CHANGED) when it changes."""
    if not 0 <= margin_business_days <= MAX_MARGIN_BUSINESS_DAYS:
        raise _refuse(
            _("Give a number of business days from 0 to %(max)d.")
            % {"max": MAX_MARGIN_BUSINESS_DAYS},
            "margin_business_days",
        )
    with transaction.atomic():
        policy, _created = (
            VendorPolicy.objects.for_organization(organization)
            .select_for_update()
            .get_or_create(organization=organization)
        )
        before = policy.margin_business_days
        if _created or before != margin_business_days:
            policy.margin_business_days = margin_business_days
            policy.save()
            record(
                Action.VENDOR_POLICY_CHANGED,
                organization=organization,
                target=policy,
                changes={"margin_business_days": [before, margin_business_days]},
            )
    return policy


# --- forwarding -------------------------------------------------------------------------------


def shared_identifiers(
    *, request: PrivacyRequest, chosen: Sequence[str], student_id: str = ""
) -> dict[str, str]:
    """The identifiers the district chose to share, read from the request (only those), in
    the order of SHAREABLE_IDENTIFIERS. `student_id` is typed by staff."""
    wanted = set(chosen)
    unknown = wanted - set(SHAREABLE_IDENTIFIERS)
    if unknown:
        raise _refuse(_("Choose identifiers from the list."), "identifiers")
    values: dict[str, str] = {}
    for key in SHAREABLE_IDENTIFIERS:
        if key not in wanted:
            continue
        value = (
            student_id.strip() if key == "student_id" else str(getattr(request, key) or "").strip()
        )
        if value:
            values[key] = value
    if not values:
        raise _refuse(
            _("Share at least one identifier the vendor can find the student by."), "identifiers"
        )
    return values


def vendor_tasks_forward(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    vendors: Sequence[Vendor],
    kind: str,
    identifiers: dict[str, str],
    instructions: str,
) -> list[VendorTask]:
    """Forward the request to each of `vendors` as a task of `kind`; returns the tasks.

    Each task is due on the vendor's terms, capped before the district's deadline by its
    margin (`selectors.task_due_date`). A vendor with its own organization here gets the task
    in its queue (the hand-off, audited on both chains); any other is emailed a single-use
    link to its first contact address. Refused for a closed request, an inactive vendor, a
    vendor without a contact address or organization, a vendor already holding an open task
    of the kind for this request, or an empty identifier set. Call in the district's context.
    """
    if kind not in TaskKind.values:
        raise _refuse(_("Choose what the vendor should do."), "kind")
    if not vendors:
        raise _refuse(_("Choose at least one vendor."), "vendors")
    if not identifiers:
        raise _refuse(_("Share at least one identifier."), "identifiers")
    instructions = instructions.strip()
    now = timezone.now()
    margin = vendor_policy(organization=organization).margin_business_days
    tasks: list[VendorTask] = []
    with _named(actor), transaction.atomic():
        request = (
            PrivacyRequest.objects.for_organization(organization)
            .select_for_update()
            .get(pk=request.pk)
        )
        if request.closed_at is not None:
            raise _refuse(_("A closed request cannot be forwarded."), "request")
        for vendor in sorted(vendors, key=lambda v: v.pk):
            if vendor.organization_id != organization.pk or not vendor.is_active:
                raise _refuse(_("Choose active vendors from your list."), "vendors")
            if vendor.portal_organization is not None and not vendor.portal_organization.is_active:
                raise _refuse(
                    _(
                        "%(vendor)s's organization is no longer active on k-12.cloud: "
                        "change the vendor first."
                    )
                    % {"vendor": vendor.name},
                    "vendors",
                )
            if vendor.portal_organization is None and not vendor.contact_email_list:
                raise _refuse(
                    _("%(vendor)s has no contact email address: add one first.")
                    % {"vendor": vendor.name},
                    "vendors",
                )
            already = VendorTask.objects.for_organization(organization).filter(
                request=request, vendor=vendor, kind=kind, status=TaskStatus.OPEN
            )
            if already.exists():
                raise _refuse(
                    _("%(vendor)s already has an open task of this kind for this request.")
                    % {"vendor": vendor.name},
                    "vendors",
                )
            due = task_due_date(
                organization=organization,
                request=request,
                vendor=vendor,
                kind=kind,
                forwarded_at=now,
                margin_business_days=margin,
            )
            task = VendorTask(
                organization=organization,
                vendor=vendor,
                request=request,
                kind=kind,
                due_on=due.due_on,
                terms_due_on=due.terms_due_on,
                identifiers=json.dumps(identifiers),
                instructions=instructions,
                delivery=Delivery.PORTAL if vendor.portal_organization else Delivery.EMAIL,
                forwarded_at=now,
                forwarded_by=actor,
            )
            _save_with_reference(task, "VT")
            record(
                Action.VENDOR_TASK_FORWARDED,
                organization=organization,
                target=task,
                changes={
                    "request": request.reference,
                    "vendor": vendor.name,
                    "kind": kind,
                    "due_on": task.due_on.isoformat(),
                    "terms_due_on": task.terms_due_on.isoformat(),
                    "capped": due.capped,
                    "identifiers_shared": sorted(identifiers),
                    "delivery": task.delivery,
                    "to_organization": vendor.portal_organization.slug
                    if vendor.portal_organization
                    else None,
                },
            )
            if vendor.portal_organization is not None:
                _hand_off(task=task, district=organization, vendor_org=vendor.portal_organization)
            else:
                vendor_task_link_send(organization=organization, task=task, reason="forwarded")
            tasks.append(task)
    return tasks


def _hand_off(*, task: VendorTask, district: Organization, vendor_org: Organization) -> None:
    """Write the vendor's receipt in the vendor's own tenant: only what was shared."""
    with tenant_context(vendor_org):
        receipt = VendorTaskReceipt(
            organization=vendor_org,
            from_organization=district,
            from_organization_name=district.name,
            from_task_reference=task.reference,
            kind=task.kind,
            due_on=task.due_on,
            identifiers=task.identifiers,
            instructions=task.instructions,
            received_at=task.forwarded_at,
        )
        _save_with_reference(receipt, "VR")
        _tell_vendor_staff(vendor_org, receipt, district)
        record(
            Action.VENDOR_TASK_RECEIVED,
            organization=vendor_org,
            target=receipt,
            changes={
                "from_organization": district.slug,
                "from_task_reference": task.reference,
                "kind": task.kind,
                "due_on": task.due_on.isoformat(),
                "identifiers_shared": sorted(json.loads(task.identifiers)),
            },
        )
    task.receipt_organization = vendor_org
    task.receipt_reference = receipt.reference
    task.save(update_fields=["receipt_organization", "receipt_reference"])


def _tell_vendor_staff(
    vendor_org: Organization, receipt: VendorTaskReceipt, district: Organization
) -> None:
    """A bell notice (and email by preference) for the vendor's privacy members."""
    people = [
        m.user
        for m in Membership.objects.for_organization(vendor_org)
        .filter(
            is_active=True,
            user__is_active=True,
            role__in=[Role.ORG_ADMIN, Role.PRIVACY_OFFICER, Role.PRIVACY_STAFF],
        )
        .select_related("user")
        .order_by("user_id")
    ]
    if not people:
        return
    notify(
        organization=vendor_org,
        recipients=people,
        kind="vendor_task_received",
        title=_("%(district)s forwarded you privacy request task %(reference)s, due %(date)s")
        % {
            "district": district.name,
            "reference": receipt.reference,
            "date": receipt.due_on.isoformat(),
        },
        url=reverse(
            "accounts:vendor_receipt",
            kwargs={"org_slug": vendor_org.slug, "receipt_id": receipt.pk},
        ),
        target=receipt,
        dedupe_key=f"vendor-task-received:{receipt.pk}",
    )


def vendor_task_skip(
    *, organization: Organization, actor: User | None, task: VendorTask, reason: str
) -> VendorTask:
    """The district decides not to wait for an open task; the reason is required and kept
    (encrypted). A vendor here sees its receipt withdrawn (recorded on its chain too)."""
    reason = reason.strip()
    if not reason:
        raise _refuse(_("Give the reason for skipping this vendor."), "reason")
    with _named(actor), transaction.atomic():
        task = VendorTask.objects.for_organization(organization).select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            raise _refuse(_("Only an open task can be skipped."), "status")
        task.status = TaskStatus.SKIPPED
        task.skipped_at = timezone.now()
        task.skipped_by = actor
        task.skip_reason = reason
        task.link_expires_at = task.link_expires_at and min(task.link_expires_at, task.skipped_at)
        task.save()
        record(
            Action.VENDOR_TASK_SKIPPED,
            organization=organization,
            target=task,
            changes={"vendor": task.vendor.name, "kind": task.kind, "side": "district"},
        )
        if task.receipt_organization is not None:
            with tenant_context(task.receipt_organization):
                receipt = (
                    VendorTaskReceipt.objects.for_organization(task.receipt_organization)
                    .select_for_update()
                    .filter(from_organization=organization, from_task_reference=task.reference)
                    .first()
                )
                if receipt is not None and receipt.status == TaskStatus.OPEN:
                    receipt.status = TaskStatus.SKIPPED
                    receipt.save(update_fields=["status"])
                    record(
                        Action.VENDOR_TASK_SKIPPED,
                        organization=task.receipt_organization,
                        target=receipt,
                        changes={"from_organization": organization.slug, "side": "vendor"},
                    )
    return task


# --- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingFile:
    name: str
    content_type: str
    data: bytes


def _check_answer(kind: str, answer_kind: str, note: str, files: Sequence[IncomingFile]) -> None:
    if answer_kind not in ANSWERS_FOR_KIND.get(kind, ()):
        raise _refuse(_("Choose an answer that fits this task."), "answer_kind")
    if answer_kind == AnswerKind.NO_RECORDS and not note.strip():
        raise _refuse(_("Say why there are no records."), "note")
    if answer_kind in ANSWERS_WITH_FILE and not files:
        what = (
            _("the export")
            if answer_kind == AnswerKind.EXPORT
            else _("the certificate of disposition")
        )
        raise _refuse(_("Attach %(what)s.") % {"what": what}, "files")
    if len(files) > MAX_FILES:
        raise _refuse(_("Attach at most %(n)d files.") % {"n": MAX_FILES}, "files")
    for incoming in files:
        if not incoming.data:
            raise _refuse(_("“%(name)s” is empty.") % {"name": incoming.name}, "files")
        if len(incoming.data) > MAX_FILE_BYTES:
            raise _refuse(
                _("“%(name)s” is larger than %(mb)d MB.")
                % {"name": incoming.name, "mb": MAX_FILE_BYTES // (1024 * 1024)},
                "files",
            )


def _store_files(
    *,
    organization: Organization,
    files: Sequence[IncomingFile],
    purpose: str,
    task: VendorTask | None = None,
    receipt: VendorTaskReceipt | None = None,
) -> list[VendorFile]:
    """Seal each file under `organization`'s key (the row's own organization)."""
    stored = []
    for incoming in files:
        stored.append(
            VendorFile.objects.create(
                organization=organization,
                task=task,
                receipt=receipt,
                purpose=purpose,
                name=incoming.name[:255] or "file",
                content_type=incoming.content_type[:100] or "application/octet-stream",
                size=len(incoming.data),
                sha256=hashlib.sha256(incoming.data).hexdigest(),
                content=base64.b64encode(incoming.data).decode("ascii"),
            )
        )
    return stored


def _purpose(answer_kind: str) -> str:
    if answer_kind == AnswerKind.DELETION_ATTESTED:
        return VendorFile.Purpose.CERTIFICATE
    if answer_kind == AnswerKind.EXPORT:
        return VendorFile.Purpose.EXPORT
    return VendorFile.Purpose.OTHER


def _task_record_answer(
    *,
    task: VendorTask,
    answer_kind: str,
    note: str,
    responder_name: str,
    responder_email: str,
    files: Sequence[IncomingFile],
    via: str,
) -> VendorTask:
    """Put the vendor's answer on the district's task (locked), files sealed under the
    district's key. Call in the district's context; audited on the district's chain."""
    organization = task.organization
    task = (
        VendorTask.objects.for_organization(organization)
        .select_for_update()
        .select_related("vendor")
        .get(pk=task.pk)
    )
    if task.status == TaskStatus.ANSWERED:
        raise _refuse(_("This task was already answered."), "status")
    if task.status == TaskStatus.SKIPPED:
        raise _refuse(_("The district withdrew this task: no answer is needed."), "status")
    now = timezone.now()
    task.status = TaskStatus.ANSWERED
    task.answered_at = now
    task.answer_kind = answer_kind
    task.answer_note = note.strip()
    task.responder_name = responder_name.strip()
    task.responder_email = responder_email.strip()
    task.save()
    stored = _store_files(
        organization=organization, files=files, purpose=_purpose(answer_kind), task=task
    )
    record(
        Action.VENDOR_TASK_ANSWER_RECEIVED if via == "portal" else Action.VENDOR_TASK_ANSWERED,
        organization=organization,
        target=task,
        changes={
            "vendor": task.vendor.name,
            "answer": answer_kind,
            "via": via,
            "files": [{"sha256": f.sha256, "size": f.size} for f in stored],
        },
    )
    return task


def receipt_answer(
    *,
    organization: Organization,
    actor: User,
    receipt: VendorTaskReceipt,
    answer_kind: str,
    note: str = "",
    files: Sequence[IncomingFile] = (),
) -> VendorTaskReceipt:
    """Vendor staff answer a task in their own queue: an export, an attested deletion with its
    certificate, a correction, or "no records" with the reason. Stored in the vendor's tenant
    (files sealed under the vendor's key, VENDOR_TASK_ANSWERED on its chain), then handed back
    to the district's task (VENDOR_TASK_ANSWER_RECEIVED on the district's chain), with the
    answering member's name and email as the attestation. Call in the vendor's context."""
    with transaction.atomic():
        receipt = (
            VendorTaskReceipt.objects.for_organization(organization)
            .select_for_update()
            .get(pk=receipt.pk)
        )
        if receipt.status != TaskStatus.OPEN:
            raise _refuse(_("This task is no longer open."), "status")
        _check_answer(receipt.kind, answer_kind, note, files)
        receipt.status = TaskStatus.ANSWERED
        receipt.answered_at = timezone.now()
        receipt.answered_by = actor
        receipt.answer_kind = answer_kind
        receipt.answer_note = note.strip()
        receipt.responder_name = actor.full_name or actor.email
        receipt.responder_email = actor.email
        receipt.save()
        stored = _store_files(
            organization=organization, files=files, purpose=_purpose(answer_kind), receipt=receipt
        )
        record(
            Action.VENDOR_TASK_ANSWERED,
            organization=organization,
            target=receipt,
            changes={
                "to_organization": receipt.from_organization_name,
                "task": receipt.from_task_reference,
                "answer": answer_kind,
                "via": "portal",
                "files": [{"sha256": f.sha256, "size": f.size} for f in stored],
            },
        )
        district = Organization.objects.get(pk=receipt.from_organization_id)
        with tenant_context(district):
            task = VendorTask.objects.for_organization(district).get(
                reference=receipt.from_task_reference
            )
            _task_record_answer(
                task=task,
                answer_kind=answer_kind,
                note=note,
                responder_name=receipt.responder_name,
                responder_email=receipt.responder_email,
                files=files,
                via="portal",
            )
    return receipt


# --- the off-portal vendor: a single-use link by email ----------------------------------------


def _link_url(organization: Organization, token: str) -> str:
    path = reverse("vendor_portal:open", kwargs={"org_slug": organization.slug, "token": token})
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def vendor_task_link_send(*, organization: Organization, task: VendorTask, reason: str) -> str:
    """Email the off-portal vendor a fresh single-use link to answer `task` (older links stop
    working); returns the token. Valid LINK_VALID_FOR. Audited (VENDOR_TASK_LINK_SENT). Call
    in the district's context and a transaction; the email is sent after commit."""
    vendor = task.vendor
    token = secrets.token_urlsafe(32)
    task.link_token_hash = VendorTask.hash_secret(token)
    task.link_expires_at = timezone.now() + LINK_VALID_FOR
    task.link_used_at = None
    task.save(update_fields=["link_token_hash", "link_expires_at", "link_used_at"])
    to = vendor.contact_email_list[0]
    email_enqueue(
        organization=organization,
        to=to,
        template="vendors/email/task_reminder"
        if reason == "reminder"
        else "vendors/email/task_link",
        subject=_("%(district)s: privacy request task %(reference)s")
        % {"district": organization.name, "reference": task.reference},
        context={
            "task": task,
            "vendor_name": vendor.name,
            "reminder": reason == "reminder",
            "link": _link_url(organization, token),
            "valid_days": LINK_VALID_FOR.days,
            "kind_label": TaskKind(task.kind).label,
        },
        target=task,
    )
    record(
        Action.VENDOR_TASK_LINK_SENT,
        organization=organization,
        target=task,
        changes={"vendor": vendor.name, "reason": reason, "valid_days": LINK_VALID_FOR.days},
    )
    return token


def _link_usable(task: VendorTask | None) -> bool:
    return (
        task is not None
        and task.link_used_at is None
        and task.link_expires_at is not None
        and task.link_expires_at > timezone.now()
        and task.status == TaskStatus.OPEN
    )


def vendor_task_link_usable(*, organization: Organization, token: str) -> bool:
    """Whether `token` would open a task now (read only: GET shows the button or not)."""
    task = (
        VendorTask.objects.for_organization(organization)
        .filter(link_token_hash=VendorTask.hash_secret(token))
        .only("link_used_at", "link_expires_at", "status", "organization_id")
        .first()
    )
    return _link_usable(task)


def vendor_task_link_use(*, organization: Organization, token: str) -> VendorTask:
    """Use a link once (a visitor pressed "Open"): returns its task, audited
    (VENDOR_TASK_LINK_OPENED). Refused (code `link`) for an unknown, used, expired or withdrawn
    link, all with the same message. Call in the district's context."""
    with transaction.atomic():
        task = (
            VendorTask.objects.for_organization(organization)
            .select_for_update()
            .filter(link_token_hash=VendorTask.hash_secret(token))
            .first()
        )
        if task is None or not _link_usable(task):
            raise _refuse(_("This link cannot be used. Ask for a code below."), "link")
        task.link_used_at = timezone.now()
        task.save(update_fields=["link_used_at"])
        record(
            Action.VENDOR_TASK_LINK_OPENED,
            organization=organization,
            target=task,
            changes={"with": "link"},
        )
    return task


def vendor_task_code_send(*, organization: Organization, reference: str, email: str) -> None:
    """Email a 6-digit code that re-opens an open task, when `email` is one of its vendor's
    contact addresses. Silent otherwise (no probing). Valid CODE_VALID_FOR, 5 tries."""
    email = email.strip().lower()
    with transaction.atomic():
        task = (
            VendorTask.objects.for_organization(organization)
            .select_for_update()
            .select_related("vendor")
            .filter(
                reference=reference.strip().upper(), status=TaskStatus.OPEN, delivery=Delivery.EMAIL
            )
            .first()
        )
        if task is None or email not in task.vendor.contact_email_list:
            return
        code = f"{secrets.randbelow(1_000_000):06d}"
        task.code_hash = VendorTask.hash_secret(f"{task.pk}:{code}")
        task.code_expires_at = timezone.now() + CODE_VALID_FOR
        task.code_attempts = 0
        task.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
        email_enqueue(
            organization=organization,
            to=email,
            template="vendors/email/task_code",
            subject=_("Your code for task %(reference)s") % {"reference": task.reference},
            context={
                "task": task,
                "code": code,
                "valid_minutes": int(CODE_VALID_FOR.total_seconds() // 60),
            },
            target=task,
        )


def vendor_task_code_use(*, organization: Organization, reference: str, code: str) -> VendorTask:
    """Re-open a task with an emailed code (once; 5 wrong tries spend it). Audited as a link
    opening. Refused (code `code`) with one message for every failure."""
    matched: VendorTask | None = None
    with transaction.atomic():
        task = (
            VendorTask.objects.for_organization(organization)
            .select_for_update()
            .filter(
                reference=reference.strip().upper(), status=TaskStatus.OPEN, delivery=Delivery.EMAIL
            )
            .first()
        )
        usable = (
            task is not None
            and bool(task.code_hash)
            and task.code_expires_at is not None
            and task.code_expires_at > timezone.now()
            and task.code_attempts < 5
        )
        if task is not None and usable:
            if secrets.compare_digest(
                task.code_hash, VendorTask.hash_secret(f"{task.pk}:{code.strip()}")
            ):
                task.code_hash = ""
                task.code_expires_at = None
                task.save(update_fields=["code_hash", "code_expires_at"])
                record(
                    Action.VENDOR_TASK_LINK_OPENED,
                    organization=organization,
                    target=task,
                    changes={"with": "code"},
                )
                matched = task
            else:  # counted, and kept: the caller must not roll this back (see the view)
                task.code_attempts += 1
                task.save(update_fields=["code_attempts"])
    if matched is None:
        raise _refuse(_("The code is wrong or has expired. Ask for a new one."), "code")
    return matched


def vendor_task_answer_by_link(
    *,
    organization: Organization,
    task: VendorTask,
    answer_kind: str,
    responder_name: str,
    responder_email: str,
    note: str = "",
    files: Sequence[IncomingFile] = (),
) -> VendorTask:
    """The off-portal vendor's answer, from its link session: the attestation names the
    responder (name and email, both required). Files are sealed under the district's key.
    Audited (VENDOR_TASK_ANSWERED, on the district's chain: that is where it happened)."""
    errors: dict[str, list[str]] = {}
    if not responder_name.strip():
        errors["responder_name"] = [_("Give your name.")]
    try:
        validate_email(responder_email.strip())
    except ValidationError:
        errors["responder_email"] = [_("Give your email address.")]
    if errors:
        raise VendorActionRefused(errors)
    _check_answer(task.kind, answer_kind, note, files)
    with transaction.atomic():
        answered = _task_record_answer(
            task=task,
            answer_kind=answer_kind,
            note=note,
            responder_name=responder_name,
            responder_email=responder_email,
            files=files,
            via="link",
        )
        answered.link_expires_at = timezone.now()
        answered.save(update_fields=["link_expires_at"])
    return answered


# --- closing the request ----------------------------------------------------------------------


def vendor_tasks_closure_check(
    *,
    organization: Organization,
    privacy_request: PrivacyRequest,
    reason: str = "",
) -> list[VendorTask]:
    """The closing guard, called by `privacy_requests.services.request_close` when a
    request closes as fulfilled, inside its transaction. A deletion request with open vendor
    tasks is refused (code `open_vendor_tasks`) unless `reason` says why it closes anyway; the
    reason is then kept on each open task (they stay open: a late certificate still lands) and
    REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS is recorded. Returns the tasks left open."""
    open_tasks = open_vendor_tasks_block_closure(
        organization=organization, privacy_request=privacy_request
    )
    if not open_tasks:
        return []
    reason = reason.strip()
    if not reason:
        names = ", ".join(task.vendor.name for task in open_tasks)
        raise VendorActionRefused(
            {
                "open_vendor_tasks_reason": [
                    _(
                        "Vendor tasks are still open (%(vendors)s): wait for their answers, skip "
                        "them with a reason, or say why the request closes anyway."
                    )
                    % {"vendors": names}
                ]
            },
            code="open_vendor_tasks",
        )
    now = timezone.now()
    for task in open_tasks:
        task.closed_open_reason = reason
        task.closed_open_at = now
        task.save(update_fields=["closed_open_reason", "closed_open_at"])
    record(
        Action.REQUEST_CLOSED_WITH_OPEN_VENDOR_TASKS,
        organization=organization,
        target=privacy_request,
        changes={"open_tasks": [task.reference for task in open_tasks]},
    )
    return open_tasks
