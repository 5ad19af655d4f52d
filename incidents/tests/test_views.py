"""The incident pages: the register, an incident with its legs, the vendor's districts, lists,
notices and letters; exact query counts, and bad input named on the form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import sign_in
from incidents.models import Incident, IncidentCascade, IncidentLeg, Notice
from incidents.services import incident_notify_districts
from incidents.tests.factories import Scene, scene
from k12cloud.tenancy import tenant_context

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("breach_rules")]

DISCOVERED = datetime(2026, 10, 28, 14, 0, tzinfo=UTC)
SENT = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def url(org_slug: str, name: str, **kwargs: object) -> str:
    return reverse(f"accounts:{name}", kwargs={"org_slug": org_slug, **kwargs})


def queries(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)
    assert response.status_code == 200, response.status_code
    return len(captured)


def cascaded() -> tuple[Scene, Incident, Incident]:
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
        received = Incident.objects.for_organization(s.hudson).get()
    return s, incident, received


# The portal's base cost is 9 (privacy_requests/tests/test_request_views.py).
# The register: the incidents with their open legs counted (one query), the data keys.
EXPECTED_REGISTER_QUERIES = 9 + 2
# An incident (district): the incident, its legs, delays, cascades, lists, notices, the keys,
# and the regimes of the rules table (the form's choices).
EXPECTED_DETAIL_QUERIES = 9 + 8


def test_register_and_detail_query_counts_are_exact_and_constant() -> None:
    s, _vendor_incident, received = cascaded()
    client = sign_in(Client(), s.hudson_admin)
    register = url("hudson-csd", "incident_list")
    detail = url("hudson-csd", "incident_detail", incident_id=received.pk)
    with time_machine.travel(LATER, tick=False):
        assert queries(client, register) == EXPECTED_REGISTER_QUERIES
        assert queries(client, detail) == EXPECTED_DETAIL_QUERIES
        # more incidents do not cost more queries
        for n in range(3):
            client.post(
                url("hudson-csd", "incident_create"),
                {
                    "title": f"Phish {n}",
                    "description": "A phished account.",
                    "discovered_at": "2026-11-01T09:30",
                    "residents": "NY=3",
                },
            )
        assert queries(client, register) == EXPECTED_REGISTER_QUERIES
        assert queries(client, detail) == EXPECTED_DETAIL_QUERIES


def test_hudson_sees_its_legs_from_the_receipt_time_and_the_vendor_leg_met() -> None:
    s, _vendor_incident, received = cascaded()
    client = sign_in(Client(), s.hudson_admin)
    with time_machine.travel(LATER, tick=False):
        page = client.get(url("hudson-csd", "incident_detail", incident_id=received.pk))
    html = page.content.decode()
    assert "2026-11-09 23:59 EST" in html  # the report to NYSED's CPO, 10 days from receipt
    assert "2026-12-29 23:59 EST" in html  # families, 60 days
    assert (
        "The vendor&#x27;s notice was on time" in html or "The vendor's notice was on time" in html
    )
    # Mon 2 Nov → Mon 9 Nov: 4 business days in New York (Election Day, Tue 3 Nov, is closed)
    assert "4 business days left" in html


def test_recording_an_incident_names_bad_fields_and_loses_nothing() -> None:
    s = scene()
    client = sign_in(Client(), s.hudson_admin)
    with time_machine.travel(LATER, tick=False):
        bad = client.post(
            url("hudson-csd", "incident_create"),
            {
                "title": "",
                "description": "x",
                "discovered_at": "2027-01-01T10:00",
                "residents": "New York",
            },
        )
        assert bad.status_code == 400
        errors = bad.context["form"].errors
        assert set(errors) >= {"title", "residents"}
        good = client.post(
            url("hudson-csd", "incident_create"),
            {
                "title": "Stolen laptop",
                "description": "A laptop was stolen.",
                "discovered_at": "2027-01-01T10:00",
                "data_categories": ["student_information"],
            },
        )
        assert good.status_code == 400  # in the future
        assert "discovered_at" in good.context["form"].errors
        ok = client.post(
            url("hudson-csd", "incident_create"),
            {
                "title": "Stolen laptop",
                "description": "A laptop was stolen.",
                "discovered_at": "2026-11-01T10:00",
                "data_categories": ["student_information"],
            },
        )
    assert ok.status_code == 302
    with tenant_context(s.hudson):
        incident = Incident.objects.get()
        # entered as New York local time (EST after the change on 1 Nov)
        assert incident.discovered_at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
        assert incident.proposed_regimes == ["ny-edlaw-2d"]


def test_vendor_page_lists_districts_and_acknowledgements_only() -> None:
    s, vendor_incident, received = cascaded()
    hudson = sign_in(Client(), s.hudson_admin)
    with time_machine.travel(LATER, tick=False):
        hudson.post(url("hudson-csd", "incident_acknowledge", incident_id=received.pk))
        page = sign_in(Client(), s.vendor_officer).get(
            url("brightpath", "incident_detail", incident_id=vendor_incident.pk)
        )
    html = page.content.decode()
    assert "Hudson CSD" in html and "Lincoln USD" in html
    assert f"by {s.hudson_admin.full_name}" in html
    with tenant_context(s.vendor):
        rows = {c.district_name: c.acknowledged_at for c in IncidentCascade.objects.all()}
    assert rows["Lincoln USD"] is None and rows["Hudson CSD"] == LATER
    # a district cannot open the vendor's incident, nor the vendor the district's
    assert (
        hudson.get(url("hudson-csd", "incident_detail", incident_id=vendor_incident.pk)).status_code
        == 404
    )
    vendor = sign_in(Client(), s.vendor_officer)
    assert (
        vendor.get(url("brightpath", "incident_detail", incident_id=received.pk)).status_code == 404
    )
    assert vendor.get(url("hudson-csd", "incident_list")).status_code == 404


def test_family_list_notice_in_two_languages_and_the_letter(
    django_capture_on_commit_callbacks,
) -> None:
    s, _vendor_incident, received = cascaded()
    client = sign_in(Client(), s.hudson_admin)
    csv = SimpleUploadedFile(
        "families.csv",
        b"name,email,language\nAna Ruiz,ana@example.org,es\nBo Li,bo@example.org,en\n",
        content_type="text/csv",
    )
    with time_machine.travel(LATER, tick=False):
        bad = client.post(
            url("hudson-csd", "incident_recipients", incident_id=received.pk),
            {"kind": "families", "file": SimpleUploadedFile("x.csv", b"Ana,nope,es\n")},
        )
        assert bad.status_code == 400
        assert bad.context["recipients_form"].errors["file"] == ["Line 1: not an email address."]
        ok = client.post(
            url("hudson-csd", "incident_recipients", incident_id=received.pk),
            {"kind": "families", "file": csv},
        )
        assert ok.status_code == 302
        with tenant_context(s.hudson):
            leg = IncidentLeg.objects.get(leg="agency-to-individuals")
            cpo = IncidentLeg.objects.get(leg="agency-to-cpo")
        form = client.get(
            url("hudson-csd", "incident_notice_prepare", incident_id=received.pk, leg_id=leg.pk)
        )
        initial = form.context["form"].initial
        assert "What happened" in initial["body_en"] and "Qué sucedió" in initial["body_es"]
        saved = client.post(
            url("hudson-csd", "incident_notice_prepare", incident_id=received.pk, leg_id=leg.pk),
            {
                **{k: initial[k] for k in ("subject_en", "body_en", "subject_es", "body_es")},
                "recipient_lists": initial["recipient_lists"],
            },
        )
        assert saved.status_code == 302
        with tenant_context(s.hudson):
            notice = Notice.objects.get()
        preview = client.get(saved["Location"]).content.decode()
        assert "Qué sucedió" in preview and "What happened" in preview
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                url(
                    "hudson-csd",
                    "incident_notice_send",
                    incident_id=received.pk,
                    notice_id=notice.pk,
                )
            )
        done = client.get(saved["Location"]).content.decode()
        assert 'id="sent">2<' in done
        letter = client.get(
            url("hudson-csd", "incident_letter", incident_id=received.pk, leg_id=cpo.pk)
        )
        assert (
            letter.status_code == 200 and "NYSED Chief Privacy Officer" in letter.content.decode()
        )
        pdf = client.get(
            url("hudson-csd", "incident_letter", incident_id=received.pk, leg_id=cpo.pk)
            + "?format=pdf"
        )
        assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        no_letter = client.get(
            url("hudson-csd", "incident_letter", incident_id=received.pk, leg_id=leg.pk)
        )
        assert no_letter.status_code == 404
    with tenant_context(s.hudson):
        assert IncidentLeg.objects.get(pk=leg.pk).met_at == LATER


def test_the_dashboard_shows_the_panel_while_a_leg_is_open() -> None:
    s, _vendor_incident, _received = cascaded()
    client = sign_in(Client(), s.hudson_admin)
    dashboard = reverse("accounts:dashboard", kwargs={"org_slug": "hudson-csd"})
    with time_machine.travel(LATER, tick=False):
        assert "Security incidents" in client.get(dashboard).content.decode()
        with tenant_context(s.hudson):
            IncidentLeg.objects.update(met_at=LATER)
        assert "Security incidents" not in client.get(dashboard).content.decode()
