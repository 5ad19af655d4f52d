"""Demo data for `make run`: idempotent, so it runs on every start."""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization, User
from accounts.ops_staff import ops_group_sync
from accounts.permissions import Role
from k12cloud.tenancy import tenant_context

ORGANIZATIONS = [
    # slug, name, kind, time zone, country, subdivision
    ("k12cloud", "k-12.cloud", Organization.Kind.PLATFORM, "America/Los_Angeles", "US", "CA"),
    (
        "lincoln-usd",
        "Lincoln Unified School District",
        Organization.Kind.DISTRICT,
        "America/Los_Angeles",
        "US",
        "CA",
    ),
    (
        "hudson-csd",
        "Hudson City School District",
        Organization.Kind.DISTRICT,
        "America/New_York",
        "US",
        "NY",
    ),
    ("brightpath", "BrightPath Learning", Organization.Kind.VENDOR, "America/Chicago", "US", "IL"),
]

MEMBERS = [
    # email, full name, organization slug, role
    ("admin@lincoln.example", "Avery Admin", "lincoln-usd", Role.ORG_ADMIN),
    ("privacy@lincoln.example", "Priya Officer", "lincoln-usd", Role.PRIVACY_OFFICER),
    ("staff@lincoln.example", "Sam Staff", "lincoln-usd", Role.PRIVACY_STAFF),
    ("billing@lincoln.example", "Bill Contact", "lincoln-usd", Role.BILLING_CONTACT),
    ("viewer@lincoln.example", "Vic Viewer", "lincoln-usd", Role.VIEWER),
    ("admin@hudson.example", "Harper Admin", "hudson-csd", Role.ORG_ADMIN),
    # the demo vendor's privacy officer answers tasks forwarded by Lincoln (vendors/)
    ("privacy@brightpath.example", "Blair Vendor", "brightpath", Role.PRIVACY_OFFICER),
]

OPS_EMAIL = "ops@k12.cloud"


class Command(BaseCommand):
    help = "Create or refresh the demo organizations and users (password: $DEMO_PASSWORD)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD", "k12cloud-demo")
        with transaction.atomic():
            organizations = {}
            for slug, name, kind, tz, country, subdivision in ORGANIZATIONS:
                organizations[slug], _ = Organization.objects.update_or_create(
                    slug=slug,
                    defaults={
                        "name": name,
                        "kind": kind,
                        "time_zone": tz,
                        "country": country,
                        "subdivision": subdivision,
                    },
                )
            for email, full_name, slug, role in MEMBERS:
                user = self._user(email, full_name, password)
                with tenant_context(organizations[slug]):
                    Membership.objects.update_or_create(
                        organization=organizations[slug],
                        user=user,
                        defaults={"role": role, "is_active": True},
                    )
            ops = self._user(OPS_EMAIL, "Olive Ops", password, is_staff=True)
            # the ops group's admin permissions (accounts.ops_staff, also `manage.py ops_group`)
            ops.groups.add(ops_group_sync())
            from billing.demo import billing_demo_seed

            billing_demo_seed(organization=organizations["lincoln-usd"])
            # Lincoln's vendors: BrightPath (on the portal) and an off-portal one (vendors.demo)
            from vendors.demo import vendor_demo_seed

            vendor_demo_seed(
                district=organizations["lincoln-usd"],
                vendor_organization=organizations["brightpath"],
            )
            # Hudson lists BrightPath too, so a breach can cascade to both (incidents.demo)
            from incidents.demo import incident_demo_seed

            incident_demo_seed(
                district=organizations["hudson-csd"],
                vendor_organization=organizations["brightpath"],
            )
        self.stdout.write(
            f"Demo data ready: {len(ORGANIZATIONS)} organizations, {len(MEMBERS) + 1} users."
        )

    def _user(self, email: str, full_name: str, password: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.full_name = full_name
        for field, value in extra.items():
            setattr(user, field, value)
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
