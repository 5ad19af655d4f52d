"""Vendor demo data for `make run` (called by `manage.py seed_demo`); safe to run again.

Lincoln USD lists two vendors: BrightPath Learning, which is an organization here (tasks go
to its queue, answered by privacy@brightpath.example), and QuizCraft, which is not (tasks go
by email link).
"""

from __future__ import annotations

from accounts.models import Organization
from k12cloud.tenancy import tenant_context
from vendors.models import Vendor


def vendor_demo_seed(*, district: Organization, vendor_organization: Organization) -> None:
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
        Vendor.objects.update_or_create(
            organization=district,
            name="QuizCraft",
            defaults={
                "services": "Classroom quizzes",
                "data_categories": ["name", "class", "quiz results"],
                "contact_emails": "dpo@quizcraft.example",
                "access_response_days": 30,
            },
        )
