"""Incident demo data for `make run` (called by `manage.py seed_demo`); safe to run again.

Hudson CSD lists BrightPath Learning as a vendor organization here too (Lincoln USD already
does, vendors.demo), so that BrightPath can notify both districts of a breach through the
portal (docs/incidents.md).
"""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from vendors.models import Vendor


def incident_demo_seed(*, district: Organization, vendor_organization: Organization) -> None:
    with tenant_context(district):
        Vendor.objects.update_or_create(
            organization=district,
            name="BrightPath Learning",
            defaults={
                "services": "Reading practice app (grades K-5)",
                "data_categories": ["name", "grade", "reading level", "usage logs"],
                "contact_emails": "privacy@brightpath.example",
                "portal_organization": vendor_organization,
            },
        )
