"""The access / portability package: what the portal holds about a request's person, as a ZIP.

`package_sections()` gathers the sections (inside the request's tenant context; every read is
this organization's), `package_zip()` writes them as `data.json`, one CSV per section and a
readable `summary.html` in the request's language, adds the files attached to the package
(evidence staff gathered elsewhere, under `evidence/`), and ends with `index.json`: every other
file of the ZIP with its size and SHA-256 (the summary lists them too).

Who the package is about, conservatively (a package must never hold someone else's data):
- the user account whose email is the requester's email, only when that user is (or was) a
  member of this organization: an account elsewhere on the platform is not this
  organization's to disclose;
- this organization's requests with the same requester email (blind index), and requests
  about the same subject (blind index on the name) only when the subject's birth date is the
  same too; of a subject-only match only the subject's fields are included, never the other
  requester's;
- audit events of this organization whose target is that user;
- billing contacts of this organization with the requester's email (`billing_contact_rows`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User
from audit.context import ActorKind
from audit.labels import action_label
from audit.models import AuditEvent
from k12cloud.encryption.envelope import NO_MATCH, blind_index, normalize_email
from privacy_requests.fulfilment.sections import PackageFile, Section, extra_sections
from privacy_requests.labels import REQUEST_TYPE_LABELS
from privacy_requests.models import PrivacyRequest, RequestMessage
from privacy_requests.status import Status

if TYPE_CHECKING:
    from accounts.models import Organization

# a fixed timestamp for every ZIP entry: the same data gives the same bytes
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)


def _unique_names(attachments: Sequence[PackageFile], taken: set[str]) -> list[str]:
    """Each attachment's path in the ZIP: its name, numbered when two files share one."""
    names = []
    for attachment in attachments:
        folder, _sep, base = attachment.name.rpartition("/")
        stem, dot, extension = base.rpartition(".")
        if not dot:
            stem, extension = base, ""
        candidate, number = attachment.name, 1
        while candidate in taken:
            number += 1
            numbered = f"{stem} ({number}){dot}{extension}"
            candidate = f"{folder}/{numbered}" if folder else numbered
        taken.add(candidate)
        names.append(candidate)
    return names


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def matching_user(*, organization: Organization, email: str) -> User | None:
    """The user with this email who is or was a member of the organization, else None."""
    if not email.strip():
        return None
    member = (
        Membership.objects.for_organization(organization)
        .filter(user__email__iexact=email.strip())
        .select_related("user")
        .first()
    )
    return member.user if member else None


def matching_requests(
    *, organization: Organization, request: PrivacyRequest
) -> tuple[list[PrivacyRequest], list[PrivacyRequest]]:
    """(requests by the same requester email, other requests about the same subject).

    The subject matches by the blind index of the name and, decrypted, the same birth date;
    a request without a birth date on either side never matches by subject alone.
    """
    by_email: list[PrivacyRequest] = []
    email = request.requester_email or ""
    rows = PrivacyRequest.objects.for_organization(organization).order_by("received_at", "pk")
    if email.strip():
        index = blind_index(organization.pk, email, kind="email")
        if index != NO_MATCH:
            by_email = list(rows.filter(requester_email_index=index))
    seen = {r.pk for r in by_email} | {request.pk}
    by_subject: list[PrivacyRequest] = []
    name, birth_date = request.subject_name or "", request.subject_birth_date or ""
    if name.strip() and birth_date.strip():
        index = blind_index(organization.pk, name, kind="name")
        if index != NO_MATCH:
            for candidate in rows.filter(subject_index=index).exclude(pk__in=seen):
                if (candidate.subject_birth_date or "").strip() == birth_date.strip():
                    by_subject.append(candidate)
    if request.pk not in {r.pk for r in by_email}:
        by_email.insert(0, request)
    return by_email, by_subject


def billing_contact_rows(*, organization: Organization, email: str) -> list[dict[str, Any]] | None:
    """The organization's billing contacts with this email; None when billing keeps none.

    HOOK to the billing module, looked up by name (`billing.BillingContact`) rather than
    imported, so fulfilment works with or without it. Contacts are few per organization and
    have no blind index, so each is decrypted and its email compared; if billing adds an email
    index, filter by it here instead.
    """
    try:
        model = apps.get_model("billing", "BillingContact")
    except LookupError:
        return None
    wanted = normalize_email(email)
    if not wanted:
        return []
    rows = []
    for contact in model.objects.for_organization(organization).order_by("pk"):
        if normalize_email(getattr(contact, "email", "") or "") == wanted:
            rows.append({c: getattr(contact, c, "") for c in BILLING_COLUMNS})
    return rows


BILLING_COLUMNS = ("name", "email", "address", "created_at")


def package_sections(*, organization: Organization, request: PrivacyRequest) -> list[Section]:
    """Every section of the package, read in the organization's tenant context."""
    email = request.requester_email or ""
    user = matching_user(organization=organization, email=email)

    account = Section(
        "account",
        _("Your account"),
        ("email", "full_name", "is_active", "date_joined", "last_login"),
        note=_("No account in this organization's portal uses this email address."),
    )
    memberships = Section(
        "memberships",
        _("Your memberships"),
        ("organization", "role", "is_active", "created_at", "deactivated_at"),
        note=_("No memberships."),
    )
    audit_events = Section(
        "audit_events",
        _("Recorded actions about your account"),
        ("occurred_at", "action", "actor_kind", "changes"),
        note=_("No recorded actions about your account."),
    )
    if user is not None:
        account.rows.append(
            {
                "email": user.email,
                "full_name": user.full_name,
                "is_active": user.is_active,
                "date_joined": user.date_joined,
                "last_login": user.last_login,
            }
        )
        for m in Membership.objects.for_organization(organization).filter(user=user):
            memberships.rows.append(
                {
                    "organization": organization.name,
                    "role": m.get_role_display(),
                    "is_active": m.is_active,
                    "created_at": m.created_at,
                    "deactivated_at": m.deactivated_at,
                }
            )
        events = AuditEvent.objects.filter(
            organization_id=organization.pk,
            target_type=User._meta.label_lower,
            target_id=str(user.pk),
        ).order_by("occurred_at", "id")  # recent events may await their seal
        for event in events:
            audit_events.rows.append(
                {
                    "occurred_at": event.occurred_at,
                    "action": _action_label(event.action),
                    "actor_kind": _choice_label(ActorKind, event.actor_kind),
                    "changes": event.changes,
                }
            )

    by_email, by_subject = matching_requests(organization=organization, request=request)
    requests = Section(
        "requests",
        _("Privacy requests"),
        (
            "reference",
            "request_type",
            "status",
            "channel",
            "received_at",
            "closed_at",
            "outcome",
            "relationship",
            "requester_name",
            "requester_email",
            "requester_phone",
            "requester_address",
            "subject_name",
            "subject_school",
            "subject_birth_date",
            "details",
        ),
    )
    for pr in by_email:
        requests.rows.append(_request_row(pr, requests.columns))
    for pr in by_subject:  # someone else asked about the same person: the subject's part only
        row = _request_row(pr, requests.columns)
        for c in ("relationship", "requester_name", "requester_email"):
            row[c] = ""
        row["requester_phone"] = row["requester_address"] = row["details"] = ""
        requests.rows.append(row)

    messages = Section(
        "messages",
        _("Messages about your requests"),
        ("request_reference", "direction", "created_at", "body"),
        note=_("No messages."),
    )
    references = {pr.pk: pr.reference for pr in by_email}
    thread = (
        RequestMessage.objects.for_organization(organization)
        .filter(request_id__in=list(references))
        .exclude(direction=RequestMessage.Direction.INTERNAL)
        .order_by("created_at", "pk")
    )
    for message in thread:
        messages.rows.append(
            {
                "request_reference": references[message.request_id],
                "direction": _choice_label(RequestMessage.Direction, message.direction),
                "created_at": message.created_at,
                "body": message.body,
            }
        )

    billing = Section(
        "billing_contacts",
        _("Billing contacts"),
        BILLING_COLUMNS,
        note=_("None held: no billing contact of this organization has your email address."),
    )
    billing.rows.extend(billing_contact_rows(organization=organization, email=email) or [])
    # sections other apps provide (the SIS records, ...): sections.py
    extra = extra_sections(organization=organization, request=request)
    return [account, memberships, requests, messages, audit_events, billing, *extra]


_action_label = lazy(action_label, str)


def _choice_label(choices: type[models.TextChoices], value: str) -> Any:
    """The (lazy) label of a stored choice, read in the package's language; '' stays ''."""
    return choices(value).label if value in choices.values else value


def _request_row(pr: PrivacyRequest, columns: Sequence[str]) -> dict[str, Any]:
    """A request as the requester reads it: types, statuses and channels by their labels."""
    row = {c: getattr(pr, c) for c in columns}
    row["request_type"] = REQUEST_TYPE_LABELS.get(pr.request_type, pr.request_type)
    row["status"] = _choice_label(Status, pr.status)
    row["channel"] = _choice_label(PrivacyRequest.Channel, pr.channel)
    row["outcome"] = _choice_label(PrivacyRequest.Outcome, pr.outcome)
    row["relationship"] = _choice_label(PrivacyRequest.Relationship, pr.relationship)
    return row


def _csv(section: Section) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(section.columns)  # the keys of data.json: the summary names them
    for row in section.rows:
        # a value starting with = + - @ would run as a formula in a spreadsheet
        values = [_text(row.get(c)) for c in section.columns]
        writer.writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in values])
    return out.getvalue().encode("utf-8-sig")  # the BOM: spreadsheets read UTF-8


def package_zip(
    *,
    organization: Organization,
    request: PrivacyRequest,
    sections: list[Section],
    attachments: Sequence[PackageFile] = (),
    generated_at: datetime | None = None,
) -> tuple[bytes, list[dict[str, Any]]]:
    """The ZIP bytes and its contents list (file names, row counts, sizes and SHA-256; no
    personal values but the names staff gave the attached files)."""
    generated_at = generated_at or timezone.now()
    language = request.language or "en"
    # every file in the request's language: labels (types, statuses, column names) resolve here
    with translation.override(language):
        return _package_zip(organization, request, sections, attachments, generated_at, language)


def _package_zip(
    organization: Organization,
    request: PrivacyRequest,
    sections: list[Section],
    attachments: Sequence[PackageFile],
    generated_at: datetime,
    language: str,
) -> tuple[bytes, list[dict[str, Any]]]:
    data = {
        "organization": organization.name,
        "request_reference": request.reference,
        "generated_at": generated_at.isoformat(),
        "sections": {
            s.key: {
                "title": str(s.title),
                "rows": [{c: _text(r.get(c)) for c in s.columns} for r in s.rows],
                "note": "" if s.rows else str(s.note),
            }
            for s in sections
        },
    }
    files: list[tuple[str, bytes, int | None]] = [
        ("data.json", json.dumps(data, indent=2, ensure_ascii=False).encode(), None),
        *((s.file_name, _csv(s), len(s.rows)) for s in sections),
    ]
    attached_names = _unique_names(attachments, {name for name, _c, _r in files} | {"index.json"})
    attached = [
        {
            "name": name,
            "bytes": len(a.content),
            "sha256": a.sha256,
            "kind": a.kind,
            "description": a.description,
            "added_by": a.added_by,
            "added_at": a.added_at.isoformat() if a.added_at else "",
        }
        for name, a in zip(attached_names, attachments, strict=True)
    ]
    listed = [
        {"name": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        for name, content, _rows in files
    ]
    for s in sections:  # resolve the lazy texts in the request's language
        s.title, s.note = str(s.title), str(s.note)
    summary = render_to_string(
        "privacy_requests/fulfilment/summary.html",
        {
            "organization": organization,
            "privacy_request": request,
            "generated_at": generated_at,
            "sections": [
                (
                    s,
                    [s.column_label(c) for c in s.columns],
                    [[_text(r.get(c)) for c in s.columns] for r in s.rows],
                )
                for s in sections
            ],
            "files": [*listed, *attached],
            "LANGUAGE_CODE": language,
        },
    )
    files.append(("summary.html", summary.encode(), None))
    files.extend(
        (name, a.content, None) for name, a in zip(attached_names, attachments, strict=True)
    )
    by_name = {entry["name"]: entry for entry in attached}
    index = {
        "organization": organization.name,
        "request_reference": request.reference,
        "generated_at": generated_at.isoformat(),
        "files": [
            {
                "name": name,
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                **{k: v for k, v in by_name.get(name, {}).items() if k not in ("name", "bytes")},
            }
            for name, content, _rows in files
        ],
    }
    files.append(("index.json", json.dumps(index, indent=2, ensure_ascii=False).encode(), None))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content, _rows in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    evidence_ids = {
        name: a.evidence_id for name, a in zip(attached_names, attachments, strict=True)
    }
    contents = [
        {
            "name": name,
            "rows": rows,
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            **({"evidence_id": evidence_ids[name]} if evidence_ids.get(name) else {}),
        }
        for name, content, rows in files
    ]
    return buffer.getvalue(), contents
