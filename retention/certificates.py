"""Certificates of de-identification: a JSON document, signed (Ed25519), and a PDF of it.

The document says what was de-identified (categories and row counts per model, the period the
data covers), under which rule, when, by which run, and the SHA-256 of the run's log. It holds
no personal data. The signature is over a domain-separated canonical JSON of the document,
made with the platform's signing key (the audit checkpoints' key, `audit.checkpoints`: kept in
the environment, never in the database), so anyone holding the public key can verify a
certificate later, offline: `python manage.py retention_certificate verify FILE`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from audit.actions import Action
from audit.checkpoints import key_id, signing_key, trusted_public_keys
from audit.services import record
from retention.declarations import declaration_for
from retention.models import DeidentificationCertificate, RetentionRun
from retention.policy import Category

DOMAIN = b"k12cloud.deidentification-certificate.v1\n"
KIND = "k12cloud.deidentification-certificate"


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _categories(progress: dict[str, Any]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for label, entry in progress.items():
        declaration = declaration_for(label)
        category = declaration.category if declaration else Category.ACCOUNT_RECORDS
        totals[str(category)] += int(entry.get("done", 0))
    return dict(sorted(totals.items()))


def certificate_document(run: RetentionRun, organization: Organization) -> dict[str, Any]:
    return {
        "kind": KIND,
        "version": 1,
        "organization": {
            "id": organization.pk,
            "slug": organization.slug,
            "name": organization.name,
        },
        "run": {
            "id": run.pk,
            "kind": run.kind,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "attempts": run.attempts,
        },
        "rule": run.rule,
        "due_on": run.due_on.isoformat(),
        # the period of the data: the organization's whole life with k-12.cloud
        "data_from": organization.created_at.date().isoformat(),
        "data_to": (organization.terminated_at or run.started_at).date().isoformat(),
        "categories": _categories(run.progress),
        "rows": {label: int(entry.get("done", 0)) for label, entry in sorted(run.progress.items())},
        "kept": ["audit events (7 years)", "financial records (7 years)", "statistics"],
        "keys_destroyed_at": run.keys_destroyed_at.isoformat() if run.keys_destroyed_at else None,
        "log_sha256": run.log_sha256,
        # certificates of disposition the organization's vendors sent for its deletion
        # requests (vendors/): vendor, references, date and SHA-256 only
        "vendor_certificates": _vendor_certificates(organization),
    }


def _vendor_certificates(organization: Organization) -> list[dict[str, object]]:
    from vendors.selectors import organization_vendor_certificates

    return organization_vendor_certificates(organization=organization)


def sign(document: dict[str, Any]) -> tuple[str, str]:
    """(key id, base64 signature) over the document."""
    key = signing_key()
    signature = key.sign(DOMAIN + canonical(document))
    return key_id(key.public_key()), base64.b64encode(signature).decode("ascii")


def verify(document: dict[str, Any], *, key: str, signature: str) -> bool:
    """Is `signature` a valid signature of `document` by the trusted key `key`?"""
    public = trusted_public_keys().get(key)
    if public is None:
        return False
    try:
        public.verify(base64.b64decode(signature, validate=True), DOMAIN + canonical(document))
    except (InvalidSignature, ValueError):
        return False
    return True


def certificate_issue(
    *, run: RetentionRun, organization: Organization, after_sending: int = 0
) -> DeidentificationCertificate:
    """Issue (once) the completed run's certificate, audited, in the caller's transaction.

    `after_sending`: user accounts (the last admins) de-identified right after the
    certificate is emailed to them."""
    existing = DeidentificationCertificate.objects.filter(run=run).first()
    if existing is not None:
        return existing
    document = certificate_document(run, organization)
    document["users_deidentified_after_sending_this"] = after_sending
    document["issued_at"] = timezone.now().isoformat()
    signer, signature = sign(document)
    certificate = DeidentificationCertificate.objects.create(
        organization=organization,
        run=run,
        document=document,
        document_sha256=hashlib.sha256(canonical(document)).hexdigest(),
        key_id=signer,
        signature=signature,
    )
    record(
        Action.RETENTION_CERTIFICATE_ISSUED,
        organization=organization,
        target=certificate,
        changes={"run": run.pk, "document_sha256": certificate.document_sha256, "key_id": signer},
    )
    return certificate


def certificate_json(certificate: DeidentificationCertificate) -> str:
    """The portable form: the document with its signature, for `retention_certificate verify`."""
    return json.dumps(
        {
            "document": certificate.document,
            "key_id": certificate.key_id,
            "signature": certificate.signature,
        },
        indent=2,
        sort_keys=True,
    )


def certificate_pdf(certificate: DeidentificationCertificate) -> bytes:
    """A human-readable PDF of the certificate (its JSON, with the signature, is the proof)."""
    from fpdf import FPDF

    document = certificate.document
    pdf = FPDF()
    pdf.set_title("Certificate of de-identification")
    pdf.set_author("k-12.cloud")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Certificate of de-identification", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    lines = [
        f"Organization: {document['organization']['name']} ({document['organization']['slug']})",
        f"Rule: {document['rule']}",
        f"Due on: {document['due_on']}",
        f"Data covered: {document['data_from']} to {document['data_to']}",
        f"Run: {document['run']['id']}, started {document['run']['started_at']}, "
        f"finished {document['run']['finished_at']} ({document['run']['attempts']} attempt(s))",
        f"Encryption keys destroyed: {document['keys_destroyed_at']}",
        f"Issued: {document.get('issued_at')}",
        "",
        "Rows de-identified per category:",
        *(f"  {category}: {rows}" for category, rows in document["categories"].items()),
        "",
        "Kept: " + "; ".join(document["kept"]),
        "",
        f"SHA-256 of the run's log: {document['log_sha256']}",
        f"SHA-256 of this certificate's document: {certificate.document_sha256}",
        f"Signature (Ed25519, key {certificate.key_id}):",
        certificate.signature,
        "",
        "Verify the JSON form with: python manage.py retention_certificate verify FILE",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def certificate_send(
    *, certificate: DeidentificationCertificate, organization: Organization, user_ids: set[int]
) -> int:
    """Email the certificate (its JSON, signature included) to the organization's last admins.

    Sent through the platform organization's outbox: the terminated organization's key is
    destroyed by now, so its own outbox can no longer encrypt an address. Idempotent (a
    dedupe key per certificate and user). Returns the emails written; none when there is no
    platform organization (logged in the run's certificate flow by the caller).
    """
    from accounts.models import User
    from k12cloud.notifications.services import email_enqueue
    from k12cloud.tenancy import tenant_context

    platform = Organization.objects.filter(kind=Organization.Kind.PLATFORM).order_by("pk").first()
    if platform is None or not user_ids:
        return 0
    addresses = list(User.objects.filter(pk__in=user_ids).order_by("pk").values_list("pk", "email"))
    written = 0
    with tenant_context(platform):
        for user_id, email in addresses:
            sent = email_enqueue(
                organization=platform,
                to=email,
                template="retention/email/certificate",
                subject=_("Certificate of de-identification"),
                context={
                    "closed_organization_name": organization.name,
                    "certificate_json": certificate_json(certificate),
                    "document": certificate.document,
                },
                target=("retention.deidentificationcertificate", certificate.pk),
                dedupe_key=f"retention-certificate:{certificate.pk}:{user_id}",
                language="en",
            )
            written += sent is not None
    return written
