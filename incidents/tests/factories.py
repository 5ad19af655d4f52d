"""BrightPath (a vendor in Chicago), Lincoln USD (California) and Hudson CSD (New York), both
listing BrightPath as a vendor organization here, as in the demo data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.tests.factories import OrganizationFactory, member
from incidents.models import Incident
from incidents.services import IncidentValues, incident_record, incident_status_set
from k12cloud.tenancy import tenant_context
from vendors.services import VendorValues, vendor_save


@dataclass
class Scene:
    vendor: Organization
    vendor_officer: User
    lincoln: Organization
    lincoln_officer: User
    hudson: Organization
    hudson_admin: User

    def vendor_breach(self, discovered_at: datetime, **changes: object) -> Incident:
        values = IncidentValues(
            title="Reading app database exposed",
            description="A misconfigured storage bucket exposed reading-level reports.",
            discovered_at=discovered_at,
            systems="reports bucket",
            data_categories=["student_information"],
            residents={"NY": 300, "CA": 200},
        )
        for name, value in changes.items():
            setattr(values, name, value)
        with tenant_context(self.vendor):
            incident = incident_record(
                organization=self.vendor, actor=self.vendor_officer, values=values
            )
            return incident_status_set(
                organization=self.vendor,
                actor=self.vendor_officer,
                incident=incident,
                status="confirmed",
                at=discovered_at,
            )


def scene() -> Scene:
    vendor = OrganizationFactory(
        slug="brightpath",
        name="BrightPath Learning",
        kind=Organization.Kind.VENDOR,
        time_zone="America/Chicago",
        subdivision="IL",
    )
    lincoln = OrganizationFactory(
        slug="lincoln-usd", name="Lincoln USD", time_zone="America/Los_Angeles", subdivision="CA"
    )
    hudson = OrganizationFactory(
        slug="hudson-csd", name="Hudson CSD", time_zone="America/New_York", subdivision="NY"
    )
    vendor_officer = member(vendor, Role.PRIVACY_OFFICER, email="privacy@brightpath.example")
    lincoln_officer = member(lincoln, Role.PRIVACY_OFFICER, email="privacy@lincoln.example")
    hudson_admin = member(hudson, Role.ORG_ADMIN, email="admin@hudson.example")
    for district, actor in ((lincoln, lincoln_officer), (hudson, hudson_admin)):
        with tenant_context(district):
            vendor_save(
                organization=district,
                actor=actor,
                values=VendorValues(
                    name="BrightPath Learning",
                    contact_emails=["privacy@brightpath.example"],
                    portal_organization=vendor,
                ),
            )
    return Scene(vendor, vendor_officer, lincoln, lincoln_officer, hudson, hudson_admin)


# --- one incident of any organization, for the permission and URL tables ----------------------


def _rules_loaded() -> None:
    from django.apps import apps

    from incidents.models import BreachRule
    from incidents.tests.conftest import rules_migration

    if not BreachRule.objects.exists():
        rules_migration.load(apps, None)


def an_incident(org: Organization) -> Incident:
    """A confirmed breach of `org` under New York's Education Law §2-d."""
    from django.utils import timezone

    from incidents.services import incident_regimes_confirm

    _rules_loaded()
    actor = member(org, Role.PRIVACY_OFFICER)
    with tenant_context(org):
        incident = incident_record(
            organization=org,
            actor=actor,
            values=IncidentValues(
                title="Lost laptop",
                description="A laptop with a roster export was stolen.",
                discovered_at=timezone.now(),
                data_categories=["student_information"],
            ),
        )
        incident = incident_status_set(
            organization=org, actor=actor, incident=incident, status="confirmed"
        )
        return incident_regimes_confirm(
            organization=org, actor=actor, incident=incident, regimes=["ny-edlaw-2d"]
        )


def _latest(org: Organization) -> Incident:
    with tenant_context(org):
        return Incident.objects.for_organization(org).order_by("-pk").first() or an_incident(org)


def a_leg(org: Organization, leg: str = "agency-to-cpo") -> object:
    """A leg of the organization's latest incident (the route names the incident first)."""
    from incidents.models import IncidentLeg

    incident = _latest(org)
    with tenant_context(org):
        return IncidentLeg.objects.for_organization(org).get(incident=incident, leg=leg)


def a_delay(org: Organization) -> object:
    from incidents.services import incident_delay_record

    incident = _latest(org)
    from django.utils import timezone

    with tenant_context(org):
        return incident_delay_record(
            organization=org,
            actor=member(org, Role.PRIVACY_OFFICER),
            incident=incident,
            agency="State police",
            requested_by="Det. Rivera",
            requested_at=timezone.now(),
        )


def a_notice(org: Organization) -> object:
    from incidents.services import notice_prepare

    leg = a_leg(org, "agency-to-individuals")
    with tenant_context(org):
        return notice_prepare(
            organization=org,
            actor=member(org, Role.PRIVACY_OFFICER),
            leg=leg,
            subject_en="Notice",
            body_en="What happened",
            subject_es="Aviso",
            body_es="Qué sucedió",
            recipient_lists=[],
            include_members=True,
        )
