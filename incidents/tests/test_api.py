"""The incidents API: record and confirm, the cascade and acknowledgement, errors naming the
field, isolation, and the schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import sign_in
from incidents.tests.factories import scene

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("breach_rules")]

NOW = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)


def api(name: str, slug: str, **kwargs: object) -> str:
    return reverse(f"accounts_api:{name}", kwargs={"org_slug": slug, **kwargs})


def test_record_confirm_notify_and_acknowledge_over_the_api() -> None:
    s = scene()
    vendor = sign_in(Client(), s.vendor_officer)
    with time_machine.travel(NOW, tick=False):
        bad = vendor.post(
            api("incident_create", "brightpath"),
            {"title": "Leak", "description": "x", "discovered_at": "2026-10-29T09:00:00"},
            content_type="application/json",
        )
        assert bad.status_code == 400 and "discovered_at" in bad.json()
        created = vendor.post(
            api("incident_create", "brightpath"),
            {
                "title": "Leak",
                "description": "Reports bucket was public.",
                "discovered_at": "2026-10-29T09:00:00-05:00",
                "data_categories": ["student_information"],
                "residents": {"NY": 40},
            },
            content_type="application/json",
        )
        assert created.status_code == 201, created.content
        incident = created.json()
        assert incident["proposed_regimes"] == ["il-soppa", "ny-edlaw-2d"]
        legs = {leg["leg"]: leg for leg in incident["legs"]}
        assert legs["contractor-to-agency"]["due_at"] == "2026-11-06T05:59:59Z"  # 5 Nov, CST
        early = vendor.post(
            api("incident_notify", "brightpath", incident_id=incident["id"]),
            {"districts": ["hudson-csd"]},
            content_type="application/json",
        )
        assert early.status_code == 409 and early.json()["code"] == "status"
        confirmed = vendor.post(
            api("incident_status", "brightpath", incident_id=incident["id"]),
            {"status": "confirmed"},
            content_type="application/json",
        )
        assert confirmed.json()["status"] == "confirmed"
        sent = vendor.post(
            api("incident_notify", "brightpath", incident_id=incident["id"]),
            {"districts": ["hudson-csd"]},
            content_type="application/json",
        )
        assert sent.status_code == 201 and sent.json()[0]["acknowledged_at"] is None

    hudson = sign_in(Client(), s.hudson_admin)
    register = hudson.get(api("incident_list", "hudson-csd")).json()
    assert [i["source_organization_name"] for i in register] == ["BrightPath Learning"]
    received = register[0]["id"]
    detail = hudson.get(api("incident_detail", "hudson-csd", incident_id=received)).json()
    cpo = next(leg for leg in detail["legs"] if leg["leg"] == "agency-to-cpo")
    assert cpo["due_at"] == "2026-11-10T04:59:59Z"  # 9 Nov 23:59:59 EST, from the receipt
    assert cpo["no_numeric_deadline"] is False
    hudson.post(api("incident_acknowledge", "hudson-csd", incident_id=received))
    status = vendor.get(api("incident_districts", "brightpath", incident_id=incident["id"]))
    assert status.json()[0]["acknowledged_by"] == s.hudson_admin.full_name
    # isolation: neither reaches the other's incident, even by id
    assert vendor.get(api("incident_detail", "brightpath", incident_id=received)).status_code == 404
    assert (
        hudson.get(api("incident_detail", "hudson-csd", incident_id=incident["id"])).status_code
        == 404
    )
    assert hudson.get(api("incident_list", "brightpath")).status_code == 404


def test_the_schema_describes_the_incident_endpoints() -> None:
    s = scene()
    schema = sign_in(Client(), s.hudson_admin).get(reverse("api_schema") + "?format=json").json()
    paths = [p for p in schema["paths"] if "/incidents/" in p]
    assert "/api/v1/orgs/{org_slug}/incidents/{incident_id}/notify/" in paths
    operation = schema["paths"]["/api/v1/orgs/{org_slug}/incidents/new/"]["post"]
    assert operation["operationId"] == "incidents_create"
