"""An organization with every kind of data, each value marked with the organization's own
word, so that a value of one organization found in another's export is a leak."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.actions import Action
from audit.services import record
from billing.tests import factories as billing
from k12cloud.notifications.services import email_enqueue
from k12cloud.tenancy import tenant_context
from privacy_requests.fulfilment.models import ResponsePackage
from privacy_requests.models import RequestMessage
from privacy_requests.tests.factories import stored_evidence, stored_request
from retention.models import LegalHold, RetentionRule
from retention.policy import Category
from sources.models import DataSource, SisRecord, SourceImport
from vendors.models import Vendor, VendorFile, VendorTask


@dataclass
class Seeded:
    organization: Organization
    admin: User
    values: list[str] = field(default_factory=list)  # each must appear in the export


def seed(word: str) -> Seeded:
    """`word` (e.g. "Zanzibar") marks every value; pick one found nowhere else."""
    slug = f"{word.lower()}-usd"
    organization = OrganizationFactory.create(slug=slug, name=f"{word} Unified")
    admin_email = f"admin.{word.lower()}@{slug}.example"
    admin = member(organization, Role.ORG_ADMIN, email=admin_email, full_name=f"{word} Adminperson")
    seeded = Seeded(organization, admin)
    v = seeded.values
    personal = {
        "requester_name": f"{word} Requesterson",
        "requester_email": f"requester.{word.lower()}@example.org",
        "requester_phone": f"+1 555 {len(word):04d} {word[:3]}",
        "requester_address": f"12 {word} Lane, Springfield",
        "subject_name": f"{word} Studentchild",
        "subject_school": f"{word} Elementary",
        "details": f"Every record of {word} Studentchild in the reading program",
    }
    request = stored_request(organization, **personal)
    v += [admin_email, f"{word} Adminperson", *personal.values()]

    evidence_bytes = f"%PDF-1.4 evidence of {word} attendance".encode()
    stored_evidence(
        organization,
        request,
        content=evidence_bytes,
        file_name=f"{word}-attendance.pdf",
        description=f"{word} attendance scan",
    )
    v += [evidence_bytes.decode(), f"{word}-attendance.pdf", f"{word} attendance scan"]

    package_bytes = f"PK package of {word} records".encode()
    with tenant_context(organization):
        RequestMessage.objects.create(
            organization=organization,
            request=request,
            direction=RequestMessage.Direction.FROM_REQUESTER,
            body=f"{word} wrote about her son's reading scores",
        )
        ResponsePackage.objects.create(
            organization=organization,
            request=request,
            content=base64.b64encode(package_bytes).decode(),
            contents=[],
            sha256=hashlib.sha256(package_bytes).hexdigest(),
            size=len(package_bytes),
            expires_at=timezone.now() + timedelta(days=30),
        )
        # an audit event (services record their own; this one names the organization's word)
        record(
            Action.LEGAL_HOLD_PLACED,
            organization=organization,
            target=("marker", f"{word}-audited"),
            changes={"scope": "organization"},
        )
        RetentionRule.objects.create(
            organization=organization, category=Category.NOTIFICATIONS, days=len(word) + 20
        )
        LegalHold.objects.create(
            organization=organization,
            scope=LegalHold.Scope.ORGANIZATION,
            reason=f"{word} v. School Board litigation",
            ends_on=date(2030, 1, 1),
        )
        source = DataSource.objects.create(
            organization=organization,
            name=f"{word} PowerSchool",
            kind=DataSource.Kind.ONEROSTER_CSV,
        )
        source_import = SourceImport.objects.create(
            organization=organization, source=source, status=SourceImport.Status.SUCCEEDED
        )
        SisRecord.objects.create(
            organization=organization,
            source_import=source_import,
            kind=SisRecord.Kind.USER,
            sourced_id_index="0" * 64,
            data=json.dumps({"givenName": f"{word}child", "familyName": f"{word}family"}),
        )
        vendor = Vendor.objects.create(
            organization=organization,
            name=f"{word} Learning Inc",
            contact_emails=f"privacy@{word.lower()}-learning.example",
        )
        task = VendorTask.objects.create(
            organization=organization,
            reference=f"VT-{word[:4].upper()}-0001",
            vendor=vendor,
            request=request,
            kind="access_export",
            delivery="email",
            due_on=date(2026, 4, 1),
            terms_due_on=date(2026, 4, 1),
            identifiers=json.dumps({"student_id": f"{word}-S-1"}),
        )
        vendor_bytes = f"student,score\n{word}child,97\n".encode()
        VendorFile.objects.create(
            organization=organization,
            task=task,
            purpose="export",
            name=f"{word}-vendor-export.csv",
            content_type="text/csv",
            size=len(vendor_bytes),
            sha256=hashlib.sha256(vendor_bytes).hexdigest(),
            content=base64.b64encode(vendor_bytes).decode(),
        )
        email_enqueue(
            organization=organization,
            to=f"parent.{word.lower()}@example.org",
            template="retention/email/terminated",
            subject=f"A notice for {word}",
            context={"due_on": None},
        )
    v += [
        f"{word} wrote about her son's reading scores",
        package_bytes.decode(),
        f"{word}-audited",
        f"{word} v. School Board litigation",
        f"{word} PowerSchool",
        f"{word}child",
        f"{word}family",
        f"{word} Learning Inc",
        f"privacy@{word.lower()}-learning.example",
        f"{word}-S-1",
        f"{word}-vendor-export.csv",
        f"{word}child,97",
        f"parent.{word.lower()}@example.org",
    ]

    po_bytes = f"%PDF-1.4 purchase order of {word}".encode()
    po = billing.purchase_order(organization, number=f"PO-{word.upper()}-7")
    with tenant_context(organization):
        po.document = base64.b64encode(po_bytes).decode()
        po.document_name = f"{word}-po.pdf"
        po.save()
    billing.billing_contact(organization, email=f"ap@{slug}.example")
    v += [f"PO-{word.upper()}-7", po_bytes.decode(), f"{word}-po.pdf", f"ap@{slug}.example"]
    return seeded


def clone_requests(organization: Organization, count: int) -> None:
    """`count` requests in all: one made through the ORM (real envelopes in its encrypted
    columns), cloned with INSERT ... SELECT generate_series (as benchmarks/ seeds)."""
    from django.db import connection

    from privacy_requests.models import PrivacyRequest

    template = stored_request(
        organization,
        requester_name="Cloned Requester",
        requester_email="cloned.requester@example.org",
        subject_name="Cloned Student",
        details="A cloned request",
    )
    table = PrivacyRequest._meta.db_table
    columns = [
        str(f.column)
        for f in PrivacyRequest._meta.concrete_fields
        if f.column not in ("id", "reference")
    ]
    column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
    with tenant_context(organization), connection.cursor() as cursor:
        have = PrivacyRequest.objects.count()
        cursor.execute(
            f"INSERT INTO {table} (reference, {column_list}) "
            f"SELECT 'C' || lpad(g::text, 9, '0'), {column_list} "
            f"FROM {table}, generate_series(%s, %s) g WHERE id = %s",
            [have, count - 1, template.pk],
        )
