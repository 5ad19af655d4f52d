"""The cascade across tenants: a vendor's confirmed breach becomes each district's incident,
whose `notice_received` event starts the district's legs; acknowledgements go back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Organization
from audit.actions import Action
from audit.models import AuditEvent
from incidents.models import Incident, IncidentCascade, IncidentLeg
from incidents.services import (
    IncidentActionRefused,
    incident_acknowledge,
    incident_notify_districts,
    incident_regimes_confirm,
)
from incidents.tests.factories import scene
from k12cloud.tenancy import tenant_context, unscoped_all_tenants

pytestmark = pytest.mark.usefixtures("breach_rules")

CHICAGO = ZoneInfo("America/Chicago")
DISCOVERED = datetime(2026, 10, 28, 14, 0, tzinfo=UTC)  # 09:00 CDT, Wed 28 Oct
SENT = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)  # 17:00 EDT Fri 30 Oct in New York


def _legs(org: Organization, incident: Incident) -> dict[str, IncidentLeg]:
    with tenant_context(org):
        return {
            f"{leg.regime}/{leg.leg}": leg
            for leg in IncidentLeg.objects.for_organization(org).filter(incident=incident)
        }


@pytest.mark.django_db
def test_a_vendor_breach_reaches_both_districts_and_starts_their_legs() -> None:
    s = scene()
    with time_machine.travel(DISCOVERED, tick=False):
        incident = s.vendor_breach(DISCOVERED)
    vendor_legs = _legs(s.vendor, incident)
    # proposed from its own state (IL) and where affected people live (NY, CA)
    assert incident.proposed_regimes == ["ca-1798-82", "il-soppa", "ny-edlaw-2d"]
    contractor = vendor_legs["ny-edlaw-2d/contractor-to-agency"]
    assert contractor.due_at is not None
    assert (
        contractor.due_at.astimezone(CHICAGO).isoformat() == "2026-11-04T23:59:59-06:00"
    )  # Chicago, 28 Oct + 7

    with time_machine.travel(SENT, tick=False), tenant_context(s.vendor):
        cascades = incident_notify_districts(
            organization=s.vendor,
            actor=s.vendor_officer,
            incident=incident,
            districts=[s.lincoln, s.hudson],
        )
    assert {c.district_name for c in cascades} == {"Lincoln USD", "Hudson CSD"}
    assert _legs(s.vendor, incident)["ny-edlaw-2d/contractor-to-agency"].met_at == SENT

    with tenant_context(s.hudson):
        received = Incident.objects.for_organization(s.hudson).get()
    assert received.notice_received_at == SENT
    assert received.source_organization_name == "BrightPath Learning"
    assert received.source_reference == incident.reference
    assert received.source_leg_met is True  # sent before 4 Nov
    assert received.proposed_regimes == ["ny-edlaw-2d"]
    hudson_legs = _legs(s.hudson, received)
    assert set(hudson_legs) == {"ny-edlaw-2d/agency-to-cpo", "ny-edlaw-2d/agency-to-individuals"}
    cpo = hudson_legs["ny-edlaw-2d/agency-to-cpo"]
    assert cpo.start_event == "notice_received"
    assert cpo.due_at is not None
    assert cpo.due_at.isoformat() == "2026-11-10T04:59:59+00:00"  # 9 Nov 23:59:59 EST
    families = hudson_legs["ny-edlaw-2d/agency-to-individuals"]
    assert families.due_at is not None
    assert families.due_at.isoformat() == "2026-12-30T04:59:59+00:00"  # 29 Dec 23:59:59 EST

    # Lincoln (California): the state law's residents leg, counted from the vendor's discovery
    with tenant_context(s.lincoln):
        lincoln_incident = Incident.objects.for_organization(s.lincoln).get()
    assert lincoln_incident.proposed_regimes == ["ca-1798-82"]
    assert lincoln_incident.source_leg_met is None  # no numbered vendor leg in California

    # acknowledgements cross back: the vendor sees time and name, nothing else
    acked = datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    with time_machine.travel(acked, tick=False), tenant_context(s.hudson):
        incident_acknowledge(organization=s.hudson, actor=s.hudson_admin, incident=received)
    with tenant_context(s.vendor):
        row = IncidentCascade.objects.for_organization(s.vendor).get(district=s.hudson)
        assert row.acknowledged_at == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
        assert row.acknowledged_by_name == s.hudson_admin.full_name
        assert (
            IncidentCascade.objects.for_organization(s.vendor)
            .get(district=s.lincoln)
            .acknowledged_at
            is None
        )

    # audited on both chains, once each
    with unscoped_all_tenants(reason="test reads both chains"):
        sent = AuditEvent.objects.filter(action=Action.INCIDENT_NOTICE_SENT_TO_DISTRICT)
        got = AuditEvent.objects.filter(action=Action.INCIDENT_NOTICE_RECEIVED)
        assert sorted(e.organization_id or 0 for e in sent) == [s.vendor.pk, s.vendor.pk]
        assert sorted(e.organization_id or 0 for e in got) == sorted([s.lincoln.pk, s.hudson.pk])


@pytest.mark.django_db
def test_confirming_regimes_recomputes_the_legs() -> None:
    s = scene()
    with time_machine.travel(SENT, tick=False):
        incident = s.vendor_breach(DISCOVERED)
        with tenant_context(s.vendor):
            incident_notify_districts(
                organization=s.vendor,
                actor=s.vendor_officer,
                incident=incident,
                districts=[s.hudson],
            )
    with tenant_context(s.hudson):
        received = Incident.objects.for_organization(s.hudson).get()
        incident_regimes_confirm(
            organization=s.hudson,
            actor=s.hudson_admin,
            incident=received,
            regimes=["ny-edlaw-2d", "ca-1798-82"],
        )
    legs = _legs(s.hudson, received)
    assert "ca-1798-82/owner-to-residents" in legs
    assert legs["ny-edlaw-2d/agency-to-cpo"].binding is True
    # confirming that no regime applies is a decision too: the proposed legs go
    with tenant_context(s.hudson):
        incident_regimes_confirm(
            organization=s.hudson, actor=s.hudson_admin, incident=received, regimes=[]
        )
    assert _legs(s.hudson, received) == {}


@pytest.mark.django_db
def test_a_vendor_cannot_notify_a_district_that_does_not_list_it() -> None:
    from accounts.tests.factories import OrganizationFactory

    s = scene()
    stranger = OrganizationFactory.create(slug="elsewhere-usd", subdivision="NY")
    with time_machine.travel(SENT, tick=False):
        incident = s.vendor_breach(DISCOVERED)
        with tenant_context(s.vendor), pytest.raises(IncidentActionRefused) as refused:
            incident_notify_districts(
                organization=s.vendor,
                actor=s.vendor_officer,
                incident=incident,
                districts=[s.hudson, stranger],
            )
    assert "districts" in refused.value.message_dict
    with tenant_context(s.hudson):  # all or nothing: Hudson got nothing either
        assert not Incident.objects.for_organization(s.hudson).exists()


@pytest.mark.django_db
def test_isolation_each_district_sees_only_its_own_incident_and_the_vendor_only_acks() -> None:
    s = scene()
    with time_machine.travel(SENT, tick=False):
        incident = s.vendor_breach(DISCOVERED)
        with tenant_context(s.vendor):
            incident_notify_districts(
                organization=s.vendor,
                actor=s.vendor_officer,
                incident=incident,
                districts=[s.lincoln, s.hudson],
            )
    with tenant_context(s.hudson):
        # Hudson's manager and RLS both stop at its own rows
        assert [i.organization_id for i in Incident.objects.all()] == [s.hudson.pk]
        assert not IncidentCascade.objects.exists()  # the vendor's status rows are not Hudson's
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT organization_id FROM incidents_incident")
            assert [r[0] for r in cursor.fetchall()] == [s.hudson.pk]
            cursor.execute("SELECT count(*) FROM incidents_incidentcascade")
            assert cursor.fetchone()[0] == 0
    with tenant_context(s.vendor):
        from django.db import connection

        with connection.cursor() as cursor:
            # the vendor sees its own incident, not the districts' copies
            cursor.execute("SELECT organization_id FROM incidents_incident")
            assert [r[0] for r in cursor.fetchall()] == [s.vendor.pk]
            cursor.execute(
                "SELECT count(*) FROM incidents_incidentleg WHERE organization_id <> %s",
                [s.vendor.pk],
            )
            assert cursor.fetchone()[0] == 0
