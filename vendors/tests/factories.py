"""A district, a vendor organization on the portal, an off-portal vendor and a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from audit.models import AuditEvent
from k12cloud.tenancy import tenant_context, unscoped_all_tenants
from privacy_requests.models import PrivacyRequest
from privacy_requests.tests.factories import stored_request
from vendors.models import Vendor, VendorFile, VendorTask, VendorTaskReceipt
from vendors.services import VendorValues, vendor_save, vendor_tasks_forward


@dataclass
class Scene:
    district: Organization
    district_admin: User
    district_staff: User
    vendor_org: Organization
    vendor_staff: User
    on_portal: Vendor  # BrightPath, an organization here
    off_portal: Vendor  # by email

    def forward(
        self,
        request: PrivacyRequest,
        vendors: list[Vendor] | None = None,
        kind: str = "access_export",
        identifiers: dict[str, str] | None = None,
    ) -> list[VendorTask]:
        with tenant_context(self.district):
            return vendor_tasks_forward(
                organization=self.district,
                actor=self.district_staff,
                request=request,
                vendors=vendors or [self.on_portal],
                kind=kind,
                identifiers=identifiers or {"subject_name": "Maya Lopez", "student_id": "S-100"},
                instructions="Send everything you hold about this student.",
            )


def scene() -> Scene:
    district = OrganizationFactory(slug="lincoln-usd", name="Lincoln USD")
    vendor_org = OrganizationFactory(
        slug="brightpath", name="BrightPath Learning", kind=Organization.Kind.VENDOR
    )
    admin = member(district, Role.ORG_ADMIN, email="admin@lincoln.example")
    staff = member(district, Role.PRIVACY_STAFF, email="staff@lincoln.example")
    vendor_staff = member(vendor_org, Role.PRIVACY_STAFF, email="privacy@brightpath.example")
    with tenant_context(district):
        on_portal = vendor_save(
            organization=district,
            actor=admin,
            values=VendorValues(
                name="BrightPath Learning",
                contact_emails=["privacy@brightpath.example"],
                portal_organization=vendor_org,
            ),
        )
        off_portal = vendor_save(
            organization=district,
            actor=admin,
            values=VendorValues(
                name="QuizCraft",
                contact_emails=["dpo@quizcraft.example"],
                access_response_days=30,
            ),
        )
    return Scene(district, admin, staff, vendor_org, vendor_staff, on_portal, off_portal)


def district_request(
    organization: Organization, *, respond_by: date | None = None, **fields: Any
) -> PrivacyRequest:
    values: dict[str, Any] = {
        "respond_by": respond_by,
        "subject_name": "Maya Lopez",
        "subject_birth_date": "2014-05-02",
        "subject_school": "Lincoln Elementary",
        "requester_email": "parent@example.org",
        "details": "Please include the reading app.",
        "status": "in_progress",
        "verified_at": timezone.now(),
        **fields,
    }
    return stored_request(organization, **values)


def events(organization: Organization, action: str) -> list[AuditEvent]:
    with unscoped_all_tenants(reason="test reads one organization's audit chain"):
        return list(
            AuditEvent.objects.filter(organization=organization, action=action).order_by("pk")
        )


# --- bare rows for the URL sweep and the permission table -------------------------------------


def a_vendor(organization: Organization) -> Vendor:
    with tenant_context(organization):
        return Vendor.objects.create(
            organization=organization, name=f"Vendor {Vendor.objects.count() + 1}"
        )


def a_task(organization: Organization) -> VendorTask:
    vendor = a_vendor(organization)
    request = stored_request(organization)
    with tenant_context(organization):
        return VendorTask.objects.create(
            organization=organization,
            reference=f"VT-T{VendorTask.objects.count():03d}",
            vendor=vendor,
            request=request,
            kind="access_export",
            delivery="email",
            due_on=date(2026, 4, 1),
            terms_due_on=date(2026, 4, 1),
            identifiers='{"student_id": "S-1"}',
        )


def a_file(organization: Organization) -> VendorFile:
    task = a_task(organization)
    with tenant_context(organization):
        return VendorFile.objects.create(
            organization=organization,
            task=task,
            purpose="export",
            name="export.csv",
            content_type="text/csv",
            size=2,
            sha256="0" * 64,
            content="YSw=",
        )


def a_receipt(organization: Organization) -> VendorTaskReceipt:
    district = OrganizationFactory(slug="sender-district", name="Sender District")
    with tenant_context(organization):
        return VendorTaskReceipt.objects.create(
            organization=organization,
            reference=f"VR-T{VendorTaskReceipt.objects.count():03d}",
            from_organization=district,
            from_organization_name=district.name,
            from_task_reference="VT-XXXX-XXXX",
            kind="access_export",
            due_on=date(2026, 4, 1),
            identifiers='{"student_id": "S-1"}',
        )
