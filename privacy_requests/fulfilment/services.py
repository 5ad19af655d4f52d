"""Writes of fulfilment: evidence files, prepare and deliver the package, fulfil, delete, record
a correction.

Every service runs in one transaction on the locked request row, writes one timeline event
(`RequestEvent`) and its audit event in that transaction, and emails only after commit.
Refusals raise `RequestActionRefused` with a message a person can act on (and a `code` the
API maps to a field or to 409).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from audit.actions import Action
from audit.services import record
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import unscoped_all_tenants
from k12cloud.uploads import sniff
from privacy_requests.contact import requester_reply_to
from privacy_requests.fulfilment.builders import (
    PackageFile,
    package_sections,
    package_zip,
)
from privacy_requests.fulfilment.models import EvidenceFile, ResponsePackage
from privacy_requests.fulfilment.sections import extra_files
from privacy_requests.fulfilment.selectors import (
    CORRECTION_TYPES,
    DELETION_TYPES,
    PACKAGE_TYPES,
    DeletionPlan,
    deletion_plan,
    deletion_record,
    evidence_for_package,
    evidence_list,
    package_current,
    package_is_outdated,
)
from privacy_requests.models import PrivacyRequest, RequestEvent, RequestMessage
from privacy_requests.portal.services import PORTAL_LINK_VALID_FOR, portal_link_issue
from privacy_requests.services import (
    RequestActionRefused,
    _event,
    _locked,
    request_close,
)

if TYPE_CHECKING:
    from accounts.models import Organization

PACKAGE_VALID_FOR = timedelta(days=30)
REMOVED = "[removed]"
# a correction's field names go into the audit log: names, never values
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ .-]{0,63}$")
# evidence files: each at most EVIDENCE_MAX_BYTES, together at most EVIDENCE_MAX_TOTAL_BYTES
# per request (the package holds them all, sealed in one encrypted value)
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_MAX_TOTAL_BYTES = 40 * 1024 * 1024
EVIDENCE_MAX_FILES = 50


def _require_open_and_verified(request: PrivacyRequest) -> None:
    if request.closed_at is not None:
        raise RequestActionRefused(_("This request is closed."), code="closed")
    if request.verified_at is None:
        raise RequestActionRefused(
            _("Verify the requester's identity first: nothing is shared or changed before."),
            code="not_verified",
        )


# --- evidence files -------------------------------------------------------------------------


def evidence_add(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    file_name: str,
    content: bytes,
    description: str = "",
) -> EvidenceFile:
    """Attach a file staff gathered elsewhere to the request's package, as it will be shared.

    Only for requests answered with a package, open and identity-verified. The file's kind is
    told from its bytes (PDF, CSV, XLSX, DOCX or an image), whatever its name says; each file
    is at most `EVIDENCE_MAX_BYTES`, all of a request's together `EVIDENCE_MAX_TOTAL_BYTES`.
    The audit event names the file's hash and size, never its name (a name often names the
    child). Refusals raise `RequestActionRefused` with code "file" (about the upload) or a
    request-level code.
    """
    file_name = file_name.strip().replace("\\", "/").rsplit("/", 1)[-1][:200]
    description = description.strip()
    if not content:
        raise RequestActionRefused(_("The file is empty."), code="file")
    if len(content) > EVIDENCE_MAX_BYTES:
        raise RequestActionRefused(
            _("The file is larger than %(limit)s MB.") % {"limit": EVIDENCE_MAX_BYTES // 2**20},
            code="file",
        )
    kind = sniff(content)
    if kind is None:
        raise RequestActionRefused(
            _(
                "This file is not one the portal accepts: PDF, CSV, Excel (.xlsx), Word "
                "(.docx) or an image (PNG, JPEG, GIF, WebP, TIFF). Its contents were checked, "
                "not its name."
            ),
            code="file",
        )
    with transaction.atomic():
        request = _locked(request)
        _require_package_open_and_verified(request)
        held = EvidenceFile.objects.for_organization(organization).filter(request=request)
        sizes = list(held.values_list("size", flat=True))
        if len(sizes) >= EVIDENCE_MAX_FILES:
            raise RequestActionRefused(
                _("A request holds at most %(count)s evidence files.")
                % {"count": EVIDENCE_MAX_FILES},
                code="file",
            )
        if sum(sizes) + len(content) > EVIDENCE_MAX_TOTAL_BYTES:
            raise RequestActionRefused(
                _("The request's evidence files would exceed %(limit)s MB together.")
                % {"limit": EVIDENCE_MAX_TOTAL_BYTES // 2**20},
                code="file",
            )
        evidence = EvidenceFile.objects.create(
            organization=organization,
            request=request,
            content=base64.b64encode(content).decode("ascii"),
            file_name=file_name or f"evidence.{kind.extension}",
            description=description,
            kind=kind.key,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            added_by=actor,
        )
        data = {
            "evidence_id": evidence.pk,
            "kind": kind.key,
            "size": evidence.size,
            "sha256": evidence.sha256,
        }
        _event(request, "evidence_added", actor, data=data)
        record(
            Action.REQUEST_EVIDENCE_ADDED, organization=organization, target=request, changes=data
        )
    return evidence


def evidence_remove(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    evidence_id: int,
) -> None:
    """Remove an evidence file before the request is fulfilled (its bytes go with the row; a
    package already prepared keeps its own sealed copy until it is prepared again)."""
    with transaction.atomic():
        request = _locked(request)
        if request.closed_at is not None:
            raise RequestActionRefused(_("This request is closed."), code="closed")
        evidence = (
            EvidenceFile.objects.for_organization(organization)
            .filter(request=request, pk=evidence_id)
            .defer("content")
            .first()
        )
        if evidence is None:
            raise RequestActionRefused(_("No such evidence file."), code="not_found")
        data = {
            "evidence_id": evidence.pk,
            "kind": evidence.kind,
            "size": evidence.size,
            "sha256": evidence.sha256,
        }
        evidence.delete()
        _event(request, "evidence_removed", actor, data=data)
        record(
            Action.REQUEST_EVIDENCE_REMOVED,
            organization=organization,
            target=request,
            changes=data,
        )


def evidence_download(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    evidence_id: int,
) -> tuple[EvidenceFile, bytes]:
    """An evidence file and its bytes, for staff; the download is audited (hash, not name)."""
    evidence = (
        EvidenceFile.objects.for_organization(organization)
        .filter(request=request, pk=evidence_id)
        .first()
    )
    if evidence is None:
        raise RequestActionRefused(_("No such evidence file."), code="not_found")
    record(
        Action.REQUEST_EVIDENCE_DOWNLOADED,
        organization=organization,
        target=request,
        changes={"evidence_id": evidence.pk, "sha256": evidence.sha256},
    )
    return evidence, base64.b64decode(evidence.content)


def _require_package_open_and_verified(request: PrivacyRequest) -> None:
    if request.request_type not in PACKAGE_TYPES:
        raise RequestActionRefused(
            _("Only access and portability requests are answered with a package."),
            code="wrong_type",
        )
    _require_open_and_verified(request)


# --- the package ----------------------------------------------------------------------------


def package_prepare(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    valid_for: timedelta = PACKAGE_VALID_FOR,
) -> ResponsePackage:
    """Assemble the access / portability package of the request, sealed under the
    organization's data key, valid for `valid_for` (30 days by default).

    Only for access, portability and FERPA inspection requests, open and identity-verified.
    Preparing again makes a new package (the latest one is the one delivered).
    """
    with transaction.atomic():
        request = _locked(request)
        if request.request_type not in PACKAGE_TYPES:
            raise RequestActionRefused(
                _("Only access and portability requests are answered with a package."),
                code="wrong_type",
            )
        _require_open_and_verified(request)
        now = timezone.now()
        sections = package_sections(organization=organization, request=request)
        attachments = [
            PackageFile(
                name=f"evidence/{evidence.file_name}",
                evidence_id=evidence.pk,
                content=base64.b64decode(evidence.content),
                kind=evidence.kind,
                description=evidence.description,
                added_by=evidence.added_by.email if evidence.added_by else "",
                added_at=evidence.added_at,
            )
            for evidence in evidence_for_package(organization=organization, request=request)
        ]
        # files other apps attach (the vendors' exports and certificates): sections.py
        attachments += extra_files(organization=organization, request=request)
        content, contents = package_zip(
            organization=organization,
            request=request,
            sections=sections,
            attachments=attachments,
            generated_at=now,
        )
        package = ResponsePackage.objects.create(
            organization=organization,
            request=request,
            content=base64.b64encode(content).decode("ascii"),
            contents=contents,
            language=request.language or "en",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            created_by=actor,
            created_at=now,
            expires_at=now + valid_for,
        )
        data = {
            "package_id": package.pk,
            "files": len(contents),
            "size": package.size,
            "sha256": package.sha256,
            "expires_at": package.expires_at.isoformat(),
        }
        _event(request, "package_prepared", actor, data=data)
        record(
            Action.REQUEST_PACKAGE_PREPARED,
            organization=organization,
            target=request,
            changes=data,
        )
    return package


class PackageUnavailable(RequestActionRefused):
    """The package cannot be downloaded: expired (code "expired") or none ("no_package")."""


def package_download(
    *, organization: Organization, package: ResponsePackage, by_requester: bool
) -> bytes:
    """The package's ZIP bytes for a download, counted and audited (the actor is the signed-in
    staff member, the API key, or nobody for the requester's portal). Refused once expired."""
    with transaction.atomic():
        row = (
            ResponsePackage.objects.for_organization(organization)
            .select_for_update()
            .get(pk=package.pk)
        )
        if row.is_expired():
            raise PackageUnavailable(
                _("This package expired on %(date)s.") % {"date": row.expires_at.date()},
                code="expired",
            )
        row.download_count += 1
        row.last_downloaded_at = timezone.now()
        row.save(update_fields=["download_count", "last_downloaded_at"])
        record(
            Action.REQUEST_PACKAGE_DOWNLOADED,
            organization=organization,
            target=row.request,
            changes={
                "package_id": row.pk,
                "by": "requester" if by_requester else "staff",
                "download_count": row.download_count,
            },
        )
        content = base64.b64decode(row.content)
    if hashlib.sha256(content).hexdigest() != row.sha256:  # never hand out a damaged file
        raise PackageUnavailable(_("The package is damaged; prepare a new one."), code="damaged")
    return content


# --- fulfil ---------------------------------------------------------------------------------


def _kept_text(plan_or_kept: Sequence[Any], language: str) -> str:
    with translation.override(language or "en"):
        lines = [_("What we kept, and why:")]
        lines += [f"- {item.what}: {item.why}" for item in plan_or_kept]
        return "\n".join(str(line) for line in lines)


def request_fulfil(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    message: str = "",
    portal_url_for: Callable[[str], str] | None = None,
    open_vendor_tasks_reason: str = "",
) -> PrivacyRequest:
    """Close the request as fulfilled with what fulfils it, and tell the requester.

    - access / portability: needs a package that has not expired; the requester is emailed
      that it is ready in their portal;
    - delete: needs the deletion performed; the closure message lists what was kept and why;
    - correct: needs at least one correction recorded.
    Other types close through the request page's "Close" action. `message` (optional) is added
    to the closure reason the requester sees. For a package, `portal_url_for(token)` builds the
    absolute portal link put in the email (a fresh single-use link, older ones retired).
    """
    message = message.strip()
    with transaction.atomic():
        request = _locked(request)
        reason_parts = [message] if message else []
        package = None
        if request.request_type in PACKAGE_TYPES:
            package = package_current(organization=organization, request=request)
            if package is None or package.is_expired():
                raise RequestActionRefused(
                    _("Prepare the package first: there is none that has not expired."),
                    code="no_package",
                )
            evidence = evidence_list(organization=organization, request=request)
            if package_is_outdated(package=package, evidence=evidence):
                raise RequestActionRefused(
                    _(
                        "Evidence files changed after the package was prepared: prepare it "
                        "again, so that the requester gets what the page lists."
                    ),
                    code="package_outdated",
                )
        elif request.request_type in DELETION_TYPES:
            done = deletion_record(organization=organization, request=request)
            if done is None:
                raise RequestActionRefused(
                    _("Perform the deletion first."), code="deletion_not_performed"
                )
            reason_parts.append(_kept_text(done.kept, request.language))
            # each vendor's outcome and certificate (vendors/)
            from vendors.selectors import vendor_closure_text

            vendors_text = vendor_closure_text(
                organization=organization, privacy_request=request, language=request.language
            )
            if vendors_text:
                reason_parts.append(vendors_text)
        elif request.request_type in CORRECTION_TYPES:
            recorded = (
                RequestEvent.objects.for_organization(organization)
                .filter(request=request, kind="correction_recorded")
                .exists()
            )
            if not recorded:
                raise RequestActionRefused(
                    _("Record the correction first."), code="correction_not_recorded"
                )
        else:
            raise RequestActionRefused(
                _("Close this type of request with the request page's “Close” action."),
                code="wrong_type",
            )
        request_close(
            request=request,
            actor=actor,
            outcome=PrivacyRequest.Outcome.FULFILLED,
            reason="\n\n".join(reason_parts),
            open_vendor_tasks_reason=open_vendor_tasks_reason,
        )
        if package is not None and request.requester_email:
            link = _portal_link(request, portal_url_for)
            notify_requester_package_ready(
                organization=organization, request=request, package=package, link=link
            )
    return request


def _portal_link(request: PrivacyRequest, portal_url_for: Callable[[str], str] | None) -> str:
    """A fresh single-use portal link for the notice (older unused ones stop working)."""
    if portal_url_for is None:
        return ""
    token, _row = portal_link_issue(request=request, reason="package_ready")
    return portal_url_for(token)


def notify_requester_package_ready(
    *, organization: Organization, request: PrivacyRequest, package: ResponsePackage, link: str
) -> None:
    """Email the requester that their package is ready in the portal.

    Written to the outbox in the fulfilment transaction, sent after it commits. The subject
    names the organization and the reference only; the body has no personal data and no link
    to the file itself: the requester opens their portal with the fresh single-use `link`.
    """
    if not request.requester_email:
        return
    with translation.override(request.language or "en"):
        subject = _("Your information is ready: privacy request %(reference)s") % {
            "reference": request.reference
        }
    email_enqueue(
        organization=organization,
        to=request.requester_email,
        template="privacy_requests/fulfilment/email/package_ready",
        subject=subject,
        context={
            "reference": request.reference,
            "expires_at": package.expires_at,
            "link": link,
            "valid_hours": int(PORTAL_LINK_VALID_FOR.total_seconds() // 3600),
        },
        target=request,
        language=request.language or "en",
        reply_to=requester_reply_to(organization),
    )


# --- deletion -------------------------------------------------------------------------------


def _scrub_request(pr: PrivacyRequest, *, keep_contact: bool) -> list[str]:
    fields = ["requester_phone", "requester_address", "subject_school", "subject_birth_date"]
    fields += ["details", "verification_evidence"]
    if not keep_contact:
        fields += ["requester_name", "requester_email", "subject_name"]
    for name in fields:
        setattr(pr, name, REMOVED if name == "requester_name" else "")
    if not keep_contact:
        fields += ["requester_email_index", "subject_index"]
    pr.save(update_fields=sorted({*fields, "updated_at"}))
    if not keep_contact:
        # the index of "" would match other empty values: a removed address matches nothing
        PrivacyRequest.objects.filter(pk=pr.pk).update(
            requester_email_index=None, subject_index=None
        )
    return fields


def deletion_perform(
    *, organization: Organization, actor: User | None, request: PrivacyRequest
) -> DeletionPlan:
    """Carry out a verified deletion request, as `selectors.deletion_plan` shows it to staff:

    - the requester's other closed requests (same email, by blind index) lose every personal
      field, and their messages' texts are removed;
    - this request keeps only the requester's name and email (to answer and for the register);
      its details, phone, address and the subject's school and birth date are removed;
    - a portal account that is no longer a member of any organization (and not ops staff) is
      deactivated and its name, email and password removed.
    Everything else is kept, with the reason, in the returned plan (stored on the timeline;
    `request_fulfil` puts it in the closure message). Audited with counts only.
    """
    with transaction.atomic():
        request = _locked(request)
        if request.request_type not in DELETION_TYPES:
            raise RequestActionRefused(_("Only deletion requests delete data."), code="wrong_type")
        _require_open_and_verified(request)
        if deletion_record(organization=organization, request=request) is not None:
            raise RequestActionRefused(
                _("The deletion was already performed for this request."),
                code="already_performed",
            )
        plan = deletion_plan(organization=organization, request=request)
        others = (
            PrivacyRequest.objects.for_organization(organization)
            .filter(pk__in=plan.request_ids)
            .order_by("pk")
            .select_for_update()
        )
        requests_done = messages_done = 0
        for other in others:
            _scrub_request(other, keep_contact=False)
            requests_done += 1
            for message in RequestMessage.objects.for_organization(organization).filter(
                request=other
            ):
                message.body = REMOVED
                message.save(update_fields=["body"])
                messages_done += 1
        _scrub_request(request, keep_contact=True)
        accounts_done = 0
        if plan.account_id is not None:
            accounts_done = _account_deidentify(organization, plan.account_id)
        counts = {
            "requests_deidentified": requests_done,
            "messages_removed": messages_done,
            "accounts_deidentified": accounts_done,
            "kept": [item.code for item in plan.kept],
        }
        _event(request, "deletion_performed", actor, data=counts)
        record(
            Action.REQUEST_DELETION_PERFORMED,
            organization=organization,
            target=request,
            changes=counts,
        )
    return plan


def _account_deidentify(organization: Organization, user_id: int) -> int:
    """Deactivate and scrub a user who is a member of no other organization; 0 if kept."""
    from allauth.account.models import EmailAddress

    user = User.objects.select_for_update().get(pk=user_id)
    if user.is_staff or user.is_superuser:
        return 0
    with unscoped_all_tenants(reason="deletion: does another organization still need the account"):
        elsewhere = (
            Membership._base_manager.filter(user_id=user.pk)
            .exclude(organization_id=organization.pk)
            .exists()
        )
    active_here = (
        Membership.objects.for_organization(organization).filter(user=user, is_active=True).exists()
    )
    if elsewhere or active_here:
        return 0
    user.is_active = False
    user.full_name = ""
    user.email = f"deleted-user-{user.pk}@invalid.k-12.cloud"
    user.set_unusable_password()
    user.save(update_fields=["is_active", "full_name", "email", "password"])
    EmailAddress.objects.filter(user=user).delete()
    return 1


# --- correction -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldCorrection:
    field: str
    before: str
    after: str


def correction_record(
    *,
    organization: Organization,
    actor: User | None,
    request: PrivacyRequest,
    record_name: str,
    corrections: Sequence[FieldCorrection],
) -> RequestMessage:
    """Record a correction made to `record_name` (e.g. "SIS student record"): which fields,
    before and after. The values go only into an encrypted internal note on the timeline; the
    audit event and the timeline event hold the field names and "changed" markers.
    """
    record_name = record_name.strip()
    if request.request_type not in CORRECTION_TYPES:
        raise RequestActionRefused(
            _("Only correction requests record corrections."), code="wrong_type"
        )
    if not record_name:
        raise RequestActionRefused(_("Name the record that was corrected."), code="record")
    if not corrections:
        raise RequestActionRefused(_("Give at least one corrected field."), code="field")
    for item in corrections:
        if not FIELD_NAME.match(item.field.strip()):
            raise RequestActionRefused(
                _(
                    "Give the field's name (letters, digits, spaces, _ . -; up to 64), "
                    "not its value."
                ),
                code="field",
            )
        if item.before == item.after:
            raise RequestActionRefused(
                _("The value after the correction is the same as before."), code="after"
            )
    with transaction.atomic():
        request = _locked(request)
        _require_open_and_verified(request)
        lines = [_("Correction to %(record)s:") % {"record": record_name}]
        for item in corrections:
            lines.append(
                _("%(field)s: before “%(before)s”, after “%(after)s”")
                % {"field": item.field.strip(), "before": item.before, "after": item.after}
            )
        message = RequestMessage.objects.create(
            organization=organization,
            request=request,
            direction=RequestMessage.Direction.INTERNAL,
            author=actor,
            body="\n".join(str(line) for line in lines),
        )
        data = {
            "fields": [item.field.strip() for item in corrections],
            "changed": {item.field.strip(): True for item in corrections},
            "message_id": message.pk,
        }
        _event(request, "correction_recorded", actor, data=data)
        record(
            Action.REQUEST_CORRECTION_RECORDED,
            organization=organization,
            target=request,
            changes=data,
        )
    return message
